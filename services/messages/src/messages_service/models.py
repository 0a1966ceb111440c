"""Messages' tables: messages, per-user conversation index, hidden (deleted for me), blocks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from messaging_kit.events import event_tables
from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Keyset cursor: a sequence never reorders, timestamps can tie.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sender_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    # sha256 of what was sent: a retry with the same key but other content is a conflict.
    content_hash: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    # {user_id: base64 wrapped key}: the message key wrapped for each reader's public key.
    keys: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_messages_sender_idempotency", "sender_id", "idempotency_key", unique=True),
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
    )


class ConversationEntry(Base):
    """One row per participant and conversation, moved to the top by each new message."""

    __tablename__ = "conversation_entries"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    peer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_conversation_entries_user_seq", "user_id", "last_seq"),)


class HiddenMessage(Base):
    """Deleted for me: hidden from this user's history only."""

    __tablename__ = "hidden_messages"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class Block(Base):
    """blocker_id does not accept messages from blocked_id (mirrored from users' events)."""

    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    blocked_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


EVENTS = event_tables(Base.metadata)
