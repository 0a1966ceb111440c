"""Media's tables: attachments, who may read each, and the kit's event tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from messaging_kit.events import event_tables
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ThumbnailStatus:
    NONE = "none"  # not an image
    PENDING = "pending"
    READY = "ready"
    REFUSED = "refused"  # a bomb, too many pixels, or not decodable


class Attachment(Base):
    """One uploaded blob. It belongs to at most one conversation or group; the uploader names
    it and its participants at upload (see README: why media does not ask messages/groups)."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_status: Mapped[str] = mapped_column(String(20))
    thumbnail_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Participant(Base):
    """A user, besides the owner, who may download the attachment."""

    __tablename__ = "attachment_participants"

    media_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class Context(Base):
    """A conversation or group whose members media has heard of (from messages' and groups'
    events); as_of orders the membership snapshots, so an older event never undoes a newer."""

    __tablename__ = "contexts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # conversation | group
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContextMember(Base):
    __tablename__ = "context_members"

    context_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


EVENTS = event_tables(Base.metadata)
