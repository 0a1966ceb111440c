"""Direct messages: send (idempotent), history and conversation list (keyset), receipts,
deletes, and the block list mirrored from the users service's events."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.events import Event, add_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import erased_among, refuse_erased
from sqlalchemy import delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from messages_service import SERVICE
from messages_service.models import EVENTS, Block, ConversationEntry, HiddenMessage, Message
from messages_service.schemas import SendMessage

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


def content_hash(body: SendMessage) -> str:
    canonical = json.dumps(
        {
            "recipient_id": str(body.recipient_id),
            "ciphertext": body.ciphertext,
            "nonce": body.nonce,
            "keys": {str(k): v for k, v in sorted(body.keys.items(), key=lambda kv: str(kv[0]))},
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def block_exists(blocker: uuid.UUID, blocked: uuid.UUID) -> Any:
    return exists().where(Block.blocker_id == blocker, Block.blocked_id == blocked)


def locked_insert(values: dict[str, Any]) -> Any:
    """INSERT the message under its conversation's transaction lock, in one statement.

    One writer per conversation at a time: seq order is then commit order, so a reader paging
    with `after` never skips a message that committed late. The lock is taken in the row
    source of the INSERT (before seq is drawn) instead of a statement of its own: it is held
    for one round trip less, and sends to one conversation queue on it.
    """
    lock = select(
        func.pg_advisory_xact_lock(func.hashtextextended(str(values["conversation_id"]), 0))
    ).cte("conversation_lock")
    columns = Message.__table__.c
    row = select(*(literal(v, type_=columns[k].type) for k, v in values.items()))
    return (
        insert(Message)
        .from_select(list(values), row.select_from(lock))
        .on_conflict_do_nothing(index_elements=[Message.sender_id, Message.idempotency_key])
        .returning(Message)
    )


def message_event_data(message: Message) -> dict[str, Any]:
    return {
        "message_id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender_id": str(message.sender_id),
        "recipient_id": str(message.recipient_id),
        "recipient_ids": sorted({str(message.sender_id), str(message.recipient_id)}),
        "ciphertext": encode(message.ciphertext),
        "nonce": encode(message.nonce),
        "keys": message.keys,
        "created_at": message.created_at.isoformat(),
    }


def encode(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def send_message(
    session: Session, sender: uuid.UUID, body: SendMessage, *, max_ciphertext_bytes: int
) -> tuple[Message, bool]:
    """Store the message once per (sender, idempotency key); True when stored just now."""
    if body.recipient_id == sender:
        raise Problem(422, "self-message", "You cannot message yourself")
    ciphertext = decode(body.ciphertext, "ciphertext")
    nonce = decode(body.nonce, "nonce")
    if len(ciphertext) > max_ciphertext_bytes:
        raise Problem(
            413,
            "message-too-large",
            "Message too large",
            f"ciphertext is {len(ciphertext)} bytes; the limit is {max_ciphertext_bytes}",
            limit=max_ciphertext_bytes,
        )
    keys = {str(user): wrapped for user, wrapped in body.keys.items()}
    if str(body.recipient_id) not in keys or not set(keys) <= {str(sender), str(body.recipient_id)}:
        raise Problem(
            422,
            "bad-keys",
            "Wrapped keys must be for the participants",
            "keys must hold the recipient's wrapped key, and may hold the sender's",
        )
    for wrapped in keys.values():
        decode(wrapped, "keys")

    # An erased recipient is gone: a client still holding their id and key gets a 404. The
    # check holds off a concurrent erasure of either participant until this send commits.
    blocked = refuse_erased(
        session,
        EVENTS,
        [sender, body.recipient_id],
        "message",
        along=block_exists(body.recipient_id, sender),
    )
    if blocked:
        raise Problem(403, "blocked", "This user does not accept messages from you")

    digest = content_hash(body)
    conversation = conversation_id(sender, body.recipient_id)
    values = {
        "id": uuid.uuid4(),
        "conversation_id": conversation,
        "sender_id": sender,
        "recipient_id": body.recipient_id,
        "idempotency_key": body.idempotency_key,
        "content_hash": digest,
        "ciphertext": ciphertext,
        "nonce": nonce,
        "keys": keys,
    }
    message = session.scalars(locked_insert(values)).first()
    if message is None:
        session.rollback()
        existing = session.scalars(
            select(Message).where(
                Message.sender_id == sender, Message.idempotency_key == body.idempotency_key
            )
        ).one()
        if existing.content_hash != digest:
            raise Problem(
                409,
                "idempotency-key-reused",
                "Idempotency key already used for another message",
                "pick a new idempotency key for a new message",
            )
        return existing, False
    # Both participants' entries in one statement.
    entry = insert(ConversationEntry).values(
        [
            {
                "user_id": user,
                "conversation_id": conversation,
                "peer_id": peer,
                "last_seq": message.seq,
                "last_message_at": message.created_at,
            }
            for user, peer in ((sender, body.recipient_id), (body.recipient_id, sender))
        ]
    )
    upsert = entry.on_conflict_do_update(
        index_elements=[ConversationEntry.user_id, ConversationEntry.conversation_id],
        set_={
            "last_seq": entry.excluded.last_seq,
            "last_message_at": entry.excluded.last_message_at,
        },
    )
    # The entries go in the event's statement: lock, insert, entries + event, commit.
    add_event(
        session,
        EVENTS,
        "message.created",
        SERVICE,
        message_event_data(message),
        along_with=[upsert],
    )
    session.commit()
    return message, True


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


def history(
    session: Session,
    viewer: uuid.UUID,
    conversation: uuid.UUID,
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> list[Message]:
    """Newest first below `before`, or oldest first above `after` (catching up)."""
    require_participant(session, viewer, conversation)
    hidden = exists().where(HiddenMessage.user_id == viewer, HiddenMessage.message_id == Message.id)
    query = select(Message).where(Message.conversation_id == conversation, ~hidden)
    if after is not None:
        query = query.where(Message.seq > after).order_by(Message.seq)
    else:
        if before is not None:
            query = query.where(Message.seq < before)
        query = query.order_by(Message.seq.desc())
    return list(session.scalars(query.limit(limit)))


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
