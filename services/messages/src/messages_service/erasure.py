"""Erasing a user from messages.

What goes: every message they sent (rows, with ciphertext and wrapped keys), their
conversation entries, their "deleted for me" marks (and everyone's marks on their messages),
blocks either way. What stays: messages their peers sent them, because those are the peers'
own words in the peers' own history; erasing one account must not rewrite someone else's
record. Of the erased user, those rows keep only the bare recipient id (it names nobody once
auth has erased the account): their wrapped key and their read receipt are removed, so
nothing they could decrypt or did remains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from messaging_kit.erasure import ErasureRequest, erasure_handler, rows_affected
from sqlalchemy import bindparam, delete, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from messages_service import SERVICE
from messages_service.models import EVENTS, Block, ConversationEntry, HiddenMessage, Message

# Typed: a list of uuids binds as uuid[] (and an empty one still has a type).
TYPED = (
    bindparam("conversations", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("user", type_=UUID(as_uuid=True)),
)
# Peers' entries point at their newest remaining message, or go if none remains.
REPOINT_PEER_ENTRIES = text(
    """
    UPDATE conversation_entries AS e
    SET last_seq = newest.seq, last_message_at = newest.created_at
    FROM (
        SELECT DISTINCT ON (conversation_id) conversation_id, seq, created_at
        FROM messages WHERE conversation_id = ANY(:conversations)
        ORDER BY conversation_id, seq DESC
    ) AS newest
    WHERE e.conversation_id = newest.conversation_id AND e.peer_id = :user
    """
).bindparams(*TYPED)
DROP_EMPTY_PEER_ENTRIES = text(
    """
    DELETE FROM conversation_entries AS e
    WHERE e.conversation_id = ANY(:conversations) AND e.peer_id = :user
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = e.conversation_id)
    """
).bindparams(*TYPED)
# The erased user's wrapped key and read receipt out of the messages they received.
STRIP_RECEIVED = text(
    """
    UPDATE messages SET keys = keys - :user_text, read_at = NULL
    WHERE conversation_id = ANY(:conversations) AND recipient_id = :user
    """
).bindparams(*TYPED)


@dataclass(frozen=True)
class Erased:
    sent_messages: int
    received_messages_stripped: int
    conversations: int


def erase_user(session: Session, request: ErasureRequest) -> Erased:
    """Idempotent: a second run finds nothing of the user and changes nothing."""
    user = request.user_id
    conversations: list[uuid.UUID] = list(
        session.scalars(
            select(ConversationEntry.conversation_id).where(ConversationEntry.user_id == user)
        )
    )
    sent = select(Message.id).where(Message.sender_id == user)
    session.execute(
        delete(HiddenMessage).where(
            or_(HiddenMessage.user_id == user, HiddenMessage.message_id.in_(sent))
        )
    )
    removed = session.execute(delete(Message).where(Message.sender_id == user))
    stripped = session.execute(
        STRIP_RECEIVED, {"user": user, "user_text": str(user), "conversations": conversations}
    )
    session.execute(delete(ConversationEntry).where(ConversationEntry.user_id == user))
    peers = {"user": user, "conversations": conversations}
    session.execute(REPOINT_PEER_ENTRIES, peers)
    session.execute(DROP_EMPTY_PEER_ENTRIES, peers)
    session.execute(delete(Block).where(or_(Block.blocker_id == user, Block.blocked_id == user)))
    return Erased(
        sent_messages=rows_affected(removed),
        received_messages_stripped=rows_affected(stripped),
        conversations=len(conversations),
    )


handle_user_deleted = erasure_handler(SERVICE, EVENTS, erase_user)
