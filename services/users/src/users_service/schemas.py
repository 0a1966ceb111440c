"""Request and response bodies of the users API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from messaging_kit.validation import NO_NUL
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from users_service.models import Invitation, Profile

DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
StatusText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
PublicKey = Annotated[str, StringConstraints(max_length=8192, pattern=NO_NUL)]
Message = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]


class ProfileOut(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    avatar_media_id: uuid.UUID | None
    status_text: str
    public_key: str | None
    email: str | None = None  # only for yourself and your contacts
    presence_visibility: str | None = None  # only for yourself

    @field_validator("status_text", mode="before")
    @classmethod
    def no_status_is_empty(cls, value: str | None) -> str:
        """A profile without a status text shows an empty one, however it was read."""
        return value or ""

    @classmethod
    def own(cls, row: dict[str, Any]) -> ProfileOut:
        """Your own profile from its row (crud.own_profile): everything, email included."""
        return cls(**{**row, "presence_visibility": row["presence_visibility"] or "contacts"})

    @classmethod
    def of(cls, profile: Profile, show_email: bool, own: bool = False) -> ProfileOut:
        return cls(
            user_id=profile.user_id,
            username=profile.username,
            display_name=profile.display_name,
            avatar_media_id=profile.avatar_media_id,
            status_text=profile.status_text,
            public_key=profile.public_key,
            email=profile.email if show_email else None,
            presence_visibility=(profile.presence_visibility or "contacts") if own else None,
        )


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    avatar_media_id: uuid.UUID | None = None
    status_text: StatusText | None = None
    public_key: PublicKey | None = None
    # Who sees you online and your last seen (users_service.presence_audience).
    presence_visibility: Literal["contacts", "everyone", "nobody"] | None = None


class SearchPage(BaseModel):
    items: list[ProfileOut]
    next_cursor: str | None


class ContactRequest(BaseModel):
    user_id: uuid.UUID


class InvitationRequest(BaseModel):
    invitee_id: uuid.UUID
    message: Message = ""


class InvitationOut(BaseModel):
    id: uuid.UUID
    inviter_id: uuid.UUID
    invitee_id: uuid.UUID
    message: str
    status: str
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            inviter_id=invitation.inviter_id,
            invitee_id=invitation.invitee_id,
            message=invitation.message or "",
            status=invitation.status,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            responded_at=invitation.responded_at,
        )


class P256DeviceKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ECDH-P256"]
    # base64 of the 65-byte uncompressed point: 0x04 first, so "B" then one of A-P.
    public_key: Annotated[str, StringConstraints(pattern=r"^B[A-P][A-Za-z0-9+/]{85}=$")] = Field(
        description="base64 (RFC 4648 section 4) of the raw 65-byte uncompressed public point"
    )


class X25519DeviceKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["X25519"]
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")] = Field(
        description="base64 (RFC 4648 section 4) of the raw 32-byte public key"
    )


DeviceKeyIn = Annotated[P256DeviceKey | X25519DeviceKey, Field(discriminator="algorithm")]


class DeviceKeyOut(BaseModel):
    user_id: uuid.UUID
    device_id: uuid.UUID
    algorithm: str
    public_key: str
    created_at: datetime
    updated_at: datetime
