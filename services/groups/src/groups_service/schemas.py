"""Request and response bodies of the groups API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from messaging_kit.validation import NO_NUL
from pydantic import BaseModel, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
Base64 = Annotated[str, StringConstraints(min_length=1, pattern=BASE64_PATTERN)]
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
]
Cursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]
WrappedKey = Annotated[
    str, StringConstraints(min_length=4, max_length=4096, pattern=BASE64_PATTERN)
]


class CreateGroup(BaseModel):
    name: Name
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=255)


class Rename(BaseModel):
    name: Name


class AddMember(BaseModel):
    user_id: uuid.UUID
    role: Literal["admin", "member"] = "member"


class ChangeRole(BaseModel):
    role: Literal["owner", "admin", "member"] = Field(
        description="`owner` hands ownership over: the current owner becomes an admin"
    )


class MemberOut(BaseModel):
    user_id: uuid.UUID
    role: str
    joined_at: datetime


class GroupOut(BaseModel):
    id: uuid.UUID
    name: str
    created_by: uuid.UUID
    created_at: datetime
    members: list[MemberOut]
    # Named at creation but not contacts of the creator: invited, members once they accept.
    invited: list[uuid.UUID] = Field(default_factory=list)


class GroupSummary(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class PostMessage(BaseModel):
    idempotency_key: IdempotencyKey
    ciphertext: Base64
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=BASE64_PATTERN)]
    keys: dict[uuid.UUID, WrappedKey] = Field(
        default_factory=dict,
        max_length=256,
        description="The message key wrapped for each member (base64); members only",
    )


class GroupMessageOut(BaseModel):
    id: uuid.UUID
    seq: int
    group_id: uuid.UUID
    sender_id: uuid.UUID
    ciphertext: str
    nonce: str
    wrapped_key: str | None
    created_at: datetime


class GroupMessagePage(BaseModel):
    items: list[GroupMessageOut]
    next_cursor: str | None


class InvitationOut(BaseModel):
    """An invitation to a group: what adding someone who had not accepted you becomes."""

    id: uuid.UUID
    group_id: uuid.UUID
    group_name: str
    inviter_id: uuid.UUID
    invitee_id: uuid.UUID
    role: str
    status: str
    created_at: datetime
