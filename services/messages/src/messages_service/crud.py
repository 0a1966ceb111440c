"""Direct messages: history and conversation list (keyset), receipts, deletes, and the block
list mirrored from the users service's events (sending: messages_service.sending)."""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.events import Event, add_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import erased_among
from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from messages_service import SERVICE
from messages_service.models import EVENTS, Block, ConversationEntry, HiddenMessage, Message

log = logging.getLogger(__name__)

# Direct conversations have a stable id derived from the two participants, so both sides
# (and any service) compute the same id without asking anyone.
CONVERSATION_NAMESPACE = uuid.UUID("6f1c2b1e-3a55-4d0e-9c43-5a8e2d7f0b11")


def conversation_id(a: uuid.UUID, b: uuid.UUID) -> uuid.UUID:
    low, high = sorted((str(a), str(b)))
    return uuid.uuid5(CONVERSATION_NAMESPACE, f"{low}:{high}")


def decode(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Problem(
            422, "validation-error", "Invalid base64", f"{field} is not valid base64"
        ) from None


def block_exists(blocker: uuid.UUID, blocked: uuid.UUID) -> Any:
    return exists().where(Block.blocker_id == blocker, Block.blocked_id == blocked)


def encode(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def get_visible(session: Session, viewer: uuid.UUID, message_id: uuid.UUID) -> Message:
    """The message if the viewer takes part in it; 404 otherwise (no hint it exists)."""
    message = session.get(Message, message_id)
    if message is None or viewer not in (message.sender_id, message.recipient_id):
        raise Problem(404, "not-found", "No such message")
    return message


def require_participant(session: Session, viewer: uuid.UUID, conversation: uuid.UUID) -> None:
    found = session.get(ConversationEntry, (viewer, conversation))
    if found is None:
        raise Problem(404, "not-found", "No such conversation")


# A history page's columns: the viewer's wrapped key only (keys ->> viewer), not every key.
HISTORY_COLUMNS = (
    Message.id,
    Message.seq,
    Message.conversation_id,
    Message.sender_id,
    Message.recipient_id,
    Message.ciphertext,
    Message.nonce,
    Message.created_at,
    Message.read_at,
    (Message.deleted_at.is_not(None)).label("deleted"),
)


def history(
    session: Session,
    viewer: uuid.UUID,
    conversation: uuid.UUID,
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> list[RowMapping]:
    """Newest first below `before`, or oldest first above `after` (catching up): rows, not
    ORM objects (a page is up to 100 of them, read and sent as they are)."""
    require_participant(session, viewer, conversation)
    hidden = exists().where(HiddenMessage.user_id == viewer, HiddenMessage.message_id == Message.id)
    wrapped_key = Message.keys.op("->>")(str(viewer)).label("wrapped_key")
    query = select(*HISTORY_COLUMNS, wrapped_key).where(
        Message.conversation_id == conversation, ~hidden
    )
    if after is not None:
        query = query.where(Message.seq > after).order_by(Message.seq)
    else:
        if before is not None:
            query = query.where(Message.seq < before)
        query = query.order_by(Message.seq.desc())
    return list(session.execute(query.limit(limit)).mappings())


def conversations(
    session: Session, viewer: uuid.UUID, *, before: int | None, limit: int
) -> list[ConversationEntry]:
    query = select(ConversationEntry).where(ConversationEntry.user_id == viewer)
    if before is not None:
        query = query.where(ConversationEntry.last_seq < before)
    return list(session.scalars(query.order_by(ConversationEntry.last_seq.desc()).limit(limit)))


def mark_read(session: Session, viewer: uuid.UUID, message_id: uuid.UUID) -> Message:
    """The recipient marks a message read; idempotent, one message.read event."""
    message = get_visible(session, viewer, message_id)
    if message.recipient_id != viewer:
        raise Problem(403, "not-recipient", "Only the recipient marks a message read")
    sender = message.sender_id
    if session.scalar(select(or_(block_exists(viewer, sender), block_exists(sender, viewer)))):
        # A receipt does not cross a block (either way): nothing recorded, nothing sent.
        return message
    if message.read_at is None and message.deleted_at is None:
        message.read_at = datetime.now(UTC)
        add_event(
            session,
            EVENTS,
            "message.read",
            SERVICE,
            {
                "message_id": str(message.id),
                "conversation_id": str(message.conversation_id),
                "seq": message.seq,
                "sender_id": str(message.sender_id),
                "reader_id": str(viewer),
                "read_at": message.read_at.isoformat(),
                "recipient_ids": sorted({str(message.sender_id), str(viewer)}),
            },
        )
        session.commit()
    return message


def delete_message(
    session: Session,
    viewer: uuid.UUID,
    message_id: uuid.UUID,
    *,
    for_everyone: bool,
    window: timedelta,
) -> None:
    message = get_visible(session, viewer, message_id)
    if for_everyone:
        if message.sender_id != viewer:
            raise Problem(403, "not-sender", "Only the sender deletes a message for everyone")
        if message.deleted_at is not None:
            return
        if datetime.now(UTC) - message.created_at > window:
            raise Problem(
                409,
                "delete-window-passed",
                "Too late to delete for everyone",
                f"messages can be deleted for everyone within {int(window.total_seconds())} s",
            )
        message.deleted_at = datetime.now(UTC)
        message.ciphertext = None
        message.nonce = None
        message.keys = {}
        recipients = sorted({str(message.sender_id), str(message.recipient_id)})
    else:
        added = session.execute(
            insert(HiddenMessage)
            .values(user_id=viewer, message_id=message.id)
            .on_conflict_do_nothing()
            .returning(HiddenMessage.message_id)
        ).first()
        if added is None:
            return
        recipients = [str(viewer)]
    add_event(
        session,
        EVENTS,
        "message.deleted",
        SERVICE,
        {
            "message_id": str(message.id),
            "conversation_id": str(message.conversation_id),
            "seq": message.seq,
            "deleted_by": str(viewer),
            "scope": "everyone" if for_everyone else "me",
            "recipient_ids": recipients,
        },
    )
    session.commit()


def apply_block_event(session: Session, event: Event) -> None:
    """contact.blocked / contact.unblocked from users: {owner_id, contact_id}."""
    owner = uuid.UUID(event.data["owner_id"])
    other = uuid.UUID(event.data["contact_id"])
    if event.type == "contact.blocked":
        if erased_among(session, EVENTS, [owner, other]):
            log.info("contact.blocked of an erased user skipped", extra={"event_id": event.id})
            return
        session.execute(
            insert(Block).values(blocker_id=owner, blocked_id=other).on_conflict_do_nothing()
        )
    else:
        session.execute(delete(Block).where(Block.blocker_id == owner, Block.blocked_id == other))


def count_unread(session: Session, viewer: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.recipient_id == viewer,
                Message.read_at.is_(None),
                Message.deleted_at.is_(None),
            )
        )
        or 0
    )
