"""Users' tables: profiles, contacts (and blocks), invitations, plus the kit's event tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from messaging_kit.events import event_tables
from sqlalchemy import DateTime, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Profile(Base):
    __tablename__ = "profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(100))
    # Shown only to the user and their contacts.
    email: Mapped[str | None] = mapped_column(String(255))
    avatar_media_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status_text: Mapped[str] = mapped_column(String(200), server_default="")
    public_key: Mapped[str | None] = mapped_column(Text)  # for end-to-end encryption
    # Who sees them online and their last seen (users_service.presence_audience).
    presence_visibility: Mapped[str] = mapped_column(String(20), server_default="contacts")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        # The migration builds these on `lower(x) COLLATE "C"`, which search uses (see crud).
        Index(
            "uq_profiles_username_lower",
            func.lower(username),
            unique=True,
        ),
        Index(
            "ix_profiles_display_name_lower",
            func.lower(display_name),
        ),
    )


class Contact(Base):
    """owner_id's address book entry for contact_id: `accepted` or `blocked`."""

    __tablename__ = "contacts"

    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_contacts_contact_id", "contact_id"),)


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    inviter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    invitee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    message: Mapped[str] = mapped_column(String(500), server_default="")
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # At most one pending invitation per pair and direction.
        Index(
            "uq_invitations_pending_pair",
            "inviter_id",
            "invitee_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )


class DeviceKey(Base):
    """One device's public key for end-to-end encryption: senders wrap each message key for
    every device of every reader (see services/README.md, "Device keys")."""

    __tablename__ = "device_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    public_key: Mapped[str] = mapped_column(Text)  # base64 of the raw public key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


EVENTS = event_tables(Base.metadata)
