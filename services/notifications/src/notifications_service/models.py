"""Notifications' tables: who to mail, what they opted out of, where to push, what is
waiting for a digest, plus the kit's event tables (processed events make consumers
idempotent)."""

from __future__ import annotations

import uuid
from datetime import datetime

from messaging_kit.events import event_tables
from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

KINDS = ("welcome", "invitation", "digest", "push")


class Base(DeclarativeBase):
    pass


class Recipient(Base):
    """A user's address, learnt from user.registered."""

    __tablename__ = "recipients"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Preference(Base):
    """An explicit choice; no row means the kind is on."""

    __tablename__ = "preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class DigestItem(Base):
    """A message that arrived while its recipient was away, waiting for the digest."""

    __tablename__ = "digest_items"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sender_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Parked after digest_max_attempts failures; last_error says why.
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_digest_items_user_event", "user_id", "event_id", unique=True),
        Index(
            "ix_digest_items_pending",
            "user_id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )


class PushTarget(Base):
    __tablename__ = "push_targets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # HMAC key for this target's signatures; shown to its owner once, at registration.
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PushDelivery(Base):
    """One event pushed to one target: a redelivered or retried event skips it."""

    __tablename__ = "push_deliveries"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


EVENTS = event_tables(Base.metadata)
