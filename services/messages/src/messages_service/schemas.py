"""Request and response bodies of the messages API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# Standard base64 (RFC 4648 section 4); size is checked after decoding, with a 413.
Base64 = Annotated[str, StringConstraints(min_length=1, pattern=BASE64_PATTERN)]
WrappedKey = Annotated[
    str, StringConstraints(min_length=4, max_length=4096, pattern=BASE64_PATTERN)
]
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
]
Cursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]


class SendMessage(BaseModel):
    recipient_id: uuid.UUID
    idempotency_key: IdempotencyKey = Field(
        description="Chosen by the client per message; a retried send with it is stored once"
    )
    ciphertext: Base64
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=BASE64_PATTERN)]
    keys: dict[uuid.UUID, WrappedKey] = Field(
        description="The message key wrapped for each reader (recipient, and the sender's "
        "own devices), base64; must include the recipient",
        min_length=1,
        max_length=2,
    )


class MessageOut(BaseModel):
    id: uuid.UUID
    seq: int
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_id: uuid.UUID
    ciphertext: str | None
    nonce: str | None
    wrapped_key: str | None = Field(description="The message key wrapped for you")
    created_at: datetime
    read_at: datetime | None
    deleted: bool


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as `before` (or `after`) for the next page")


class ConversationOut(BaseModel):
    conversation_id: uuid.UUID
    peer_id: uuid.UUID
    last_seq: int
    last_message_at: datetime


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None
