"""What messages holds of one user, for their own export: their conversations, every message
they sent or received (ciphertext as stored, with only their own wrapped key), their blocks."""

from __future__ import annotations

import uuid
from typing import Any

from messaging_kit.export import export_document, row_data
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from messages_service import SERVICE
from messages_service.models import Block, ConversationEntry, HiddenMessage, Message


def message_data(message: Message, user: uuid.UUID) -> dict[str, Any]:
    data = row_data(message, without=("keys", "content_hash"))
    data["wrapped_key"] = (message.keys or {}).get(str(user))
    return data


def user_export(session: Session, user: uuid.UUID) -> dict[str, Any]:
    messages = session.scalars(
        select(Message)
        .where(or_(Message.sender_id == user, Message.recipient_id == user))
        .order_by(Message.seq)
    )
    entries = session.scalars(select(ConversationEntry).where(ConversationEntry.user_id == user))
    hidden = session.scalars(select(HiddenMessage.message_id).where(HiddenMessage.user_id == user))
    blocks = session.scalars(select(Block.blocked_id).where(Block.blocker_id == user))
    return export_document(
        SERVICE,
        user,
        conversations=[row_data(e) for e in entries],
        messages=[message_data(m, user) for m in messages],
        hidden_message_ids=list(hidden),
        blocked_user_ids=list(blocks),
    )
