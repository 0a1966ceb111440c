"""Sending a direct message: two statements and a commit.

1. The shared erasure locks of both participants (messaging_kit.tombstones), in a statement of
   their own: the next statement's snapshot then sees any erasure that committed before them.
2. Everything else in one statement: the erasure and block checks, the conversation's lock,
   the message insert (idempotent per sender and key), both participants' conversation
   entries, and the `message.created` outbox row with its NOTIFY for the relay.

The conversation lock is taken in the row source of the INSERT, before seq is drawn, and held
to the commit that follows the statement directly: one writer per conversation at a time, so
seq order is commit order and a reader paging with `after` never skips a message that
committed late. Nothing runs in Python while it is held (four statements did before: the GIL
and the round trips between them stretched every hold, and sends to one conversation queue on
it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from messaging_kit.events.envelope import new_event
from messaging_kit.events.wakeup import OUTBOX_CHANNEL
from messaging_kit.problems import Problem
from messaging_kit.tombstones import erased_problem, lock_users
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from messages_service import SERVICE
from messages_service.crud import conversation_id, decode, encode
from messages_service.models import Message
from messages_service.schemas import SendMessage

# seq and created_at are the database's: the event's copies are set from the stored row. The
# timestamp is written as Python's isoformat writes it for UTC, whatever the session's TimeZone.
SEND = text(
    """
WITH checked AS MATERIALIZED (
    SELECT (SELECT array_agg(user_id::text) FROM erased_users
            WHERE user_id IN (CAST(:sender AS uuid), CAST(:recipient AS uuid))) AS erased,
           EXISTS (SELECT 1 FROM blocks WHERE blocker_id = CAST(:recipient AS uuid)
                   AND blocked_id = CAST(:sender AS uuid)) AS blocked
),
conversation_lock AS (
    SELECT pg_advisory_xact_lock(hashtextextended(:conversation, 0)) FROM checked
    WHERE erased IS NULL AND NOT blocked
),
stored AS (
    INSERT INTO messages (id, conversation_id, sender_id, recipient_id, idempotency_key,
                          content_hash, ciphertext, nonce, keys)
    SELECT CAST(:id AS uuid), CAST(:conversation AS uuid), CAST(:sender AS uuid),
           CAST(:recipient AS uuid), :idempotency_key, :content_hash, :ciphertext, :nonce,
           CAST(:keys AS jsonb)
    FROM conversation_lock
    ON CONFLICT (sender_id, idempotency_key) DO NOTHING
    RETURNING *
),
entries AS (
    INSERT INTO conversation_entries (user_id, conversation_id, peer_id, last_seq,
                                      last_message_at)
    SELECT sender_id, conversation_id, recipient_id, seq, created_at FROM stored
    UNION ALL
    SELECT recipient_id, conversation_id, sender_id, seq, created_at FROM stored
    ON CONFLICT (user_id, conversation_id) DO UPDATE
        SET last_seq = excluded.last_seq, last_message_at = excluded.last_message_at
),
queued AS (
    INSERT INTO outbox (id, event_type, body, created_at)
    SELECT CAST(:event_id AS uuid), 'message.created',
           jsonb_set(jsonb_set(CAST(:event AS jsonb), '{data,seq}', to_jsonb(seq)),
                     '{data,created_at}',
                     to_jsonb(to_char(created_at AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))),
           clock_timestamp()
    FROM stored
    RETURNING id
)
SELECT checked.erased, checked.blocked,
       (SELECT count(pg_notify(:channel, '')) FROM queued) AS notified, stored.*
FROM checked LEFT JOIN stored ON true
"""
).columns(**{column.key: column.type for column in Message.__table__.columns})
MESSAGE_COLUMNS = tuple(column.key for column in Message.__table__.columns)


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


def checked_parts(
    sender: uuid.UUID, body: SendMessage, max_ciphertext_bytes: int
) -> tuple[bytes, bytes, dict[str, str]]:
    """The decoded ciphertext and nonce and the wrapped keys, or the problem with them."""
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
    return ciphertext, nonce, keys


def event_data(
    message_id: uuid.UUID,
    conversation: uuid.UUID,
    sender: uuid.UUID,
    recipient: uuid.UUID,
    ciphertext: bytes,
    nonce: bytes,
    keys: dict[str, str],
) -> dict[str, Any]:
    """message.created's data; seq and created_at are filled in by the statement."""
    return {
        "message_id": str(message_id),
        "conversation_id": str(conversation),
        "seq": 0,
        "sender_id": str(sender),
        "recipient_id": str(recipient),
        "recipient_ids": sorted({str(sender), str(recipient)}),
        "ciphertext": encode(ciphertext),
        "nonce": encode(nonce),
        "keys": keys,
        "created_at": "",
    }


def send_message(
    session: Session, sender: uuid.UUID, body: SendMessage, *, max_ciphertext_bytes: int
) -> tuple[Message, bool]:
    """Store the message once per (sender, idempotency key); True when stored just now."""
    ciphertext, nonce, keys = checked_parts(sender, body, max_ciphertext_bytes)
    recipient = body.recipient_id
    digest = content_hash(body)
    conversation = conversation_id(sender, recipient)
    message_id = uuid.uuid4()
    event = new_event(
        "message.created",
        SERVICE,
        event_data(message_id, conversation, sender, recipient, ciphertext, nonce, keys),
    )
    lock_users(session, [sender, recipient], exclusive=False)
    row = session.execute(
        SEND,
        {
            "id": str(message_id),
            "conversation": str(conversation),
            "sender": str(sender),
            "recipient": str(recipient),
            "idempotency_key": body.idempotency_key,
            "content_hash": digest,
            "ciphertext": ciphertext,
            "nonce": nonce,
            "keys": json.dumps(keys),
            "event_id": event.id,
            "event": json.dumps(event.to_json()),
            "channel": OUTBOX_CHANNEL,
        },
    ).one()
    if row.erased:
        raise erased_problem(row.erased, "message")
    if row.blocked:
        raise Problem(403, "blocked", "This user does not accept messages from you")
    if row.id is None:  # this key was used before: a retry, or a conflict
        session.rollback()
        return stored_before(session, sender, body.idempotency_key, digest), False
    session.commit()
    fields = row._mapping
    return Message(**{name: fields[name] for name in MESSAGE_COLUMNS}), True


def stored_before(session: Session, sender: uuid.UUID, key: str, digest: str) -> Message:
    existing = session.scalars(
        select(Message).where(Message.sender_id == sender, Message.idempotency_key == key)
    ).one()
    if existing.content_hash != digest:
        raise Problem(
            409,
            "idempotency-key-reused",
            "Idempotency key already used for another message",
            "pick a new idempotency key for a new message",
        )
    return existing
