"""Auth's tables: credentials, refresh tokens, email verification, deleted accounts and their
erasure, the admin audit log (plus the kit's outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from messaging_kit.events import event_tables
from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), unique=True)  # stored lower-cased
    # The address as typed at registration; `email` holds a placeholder instead when that
    # address already had an account (auth_service.registration).
    requested_email: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(20), default="user", server_default="user")
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Access tokens issued before this are refused everywhere (force logout, suspension).
    tokens_not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Every token rotated from one login shares a family; reuse of any old one revokes it all.
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The revocation snapshot reads recently ended logins (migration 0003).
    __table_args__ = (
        Index("ix_refresh_tokens_revoked_at", revoked_at, postgresql_where=revoked_at.is_not(None)),
    )


class EmailVerification(Base):
    """A single-use link token; only its SHA-256 is stored, like refresh tokens."""

    __tablename__ = "email_verifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeletedUser(Base):
    """What is left of a deleted account, on purpose nothing but ids and times.

    The user id is needed to refuse the account's still-unexpired access tokens (the revocation
    snapshot), to match the services' `user.erased` confirmations, and as the audit record that
    the deletion was asked for and by whom. Email, username, display name and password hash are
    gone with the `users` row: not even a hash of the email is kept, since a hash of a known
    address is found by hashing a list of addresses, so the address may register afresh (it
    gets a new id; ids are random UUIDs and never come back).
    """

    __tablename__ = "deleted_users"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    erasure_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # "self", or the admin's user id (the audit log has the details).
    requested_by: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    publish_count: Mapped[int] = mapped_column(Integer, default=1)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class ErasureConfirmation(Base):
    __tablename__ = "erasure_confirmations"

    erasure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deleted_users.erasure_id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AdminAction(Base):
    """The audit log: who (admin id, or null for the CLI), what, on whom, when."""

    __tablename__ = "admin_actions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    admin_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


EVENTS = event_tables(Base.metadata)
