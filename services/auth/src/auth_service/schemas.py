"""Request and response bodies of auth's API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from messaging_kit.validation import NO_NUL
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# No spaces or control characters: written as ranges, which every regex engine reads alike.
EMAIL = r"^[^@\x00-\x20\x7f-\x9f]+@[^@\x00-\x20\x7f-\x9f]+\.[^@\x00-\x20\x7f-\x9f]+$"
Email = Annotated[
    str,
    StringConstraints(max_length=255, pattern=EMAIL),
]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.]{3,32}$")]
# Upper bound keeps a hash request from being a denial-of-service vector.
Password = Annotated[str, StringConstraints(min_length=8, max_length=128, pattern=NO_NUL)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Login = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


class RegisterRequest(BaseModel):
    email: Email
    username: Username
    password: Password
    display_name: DisplayName | None = None


class LoginRequest(BaseModel):
    login: Login = Field(description="email or username")
    password: Secret


class RefreshRequest(BaseModel):
    refresh_token: OpaqueToken


class ChangePasswordRequest(BaseModel):
    current_password: Secret
    new_password: Password


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    username: str
    display_name: str | None
    created_at: datetime
    email_verified: bool = False
    role: str = "user"

    @classmethod
    def of(cls, user: Any) -> UserOut:
        out = cls.model_validate(user)
        # The address as typed, also when it was someone else's (auth_service.registration).
        shown = getattr(user, "requested_email", None) or user.email
        return out.model_copy(
            update={"email": shown, "email_verified": user.email_verified_at is not None}
        )


class AdminUserOut(UserOut):
    email_verified_at: datetime | None
    suspended_at: datetime | None


class UserPage(BaseModel):
    users: list[AdminUserOut]
    next_cursor: str | None


class VerifyEmailRequest(BaseModel):
    token: OpaqueToken


class UnlockRequest(BaseModel):
    token: OpaqueToken


class VerificationSent(BaseModel):
    sent: Literal[True] = True
    expires_at: datetime


class DeleteAccountRequest(BaseModel):
    password: Secret


class ServiceErasure(BaseModel):
    state: Literal["pending", "confirmed"]
    confirmed_at: datetime | None


class ErasureOut(BaseModel):
    erasure_id: uuid.UUID
    requested_at: datetime
    complete: bool
    completed_at: datetime | None
    publish_count: int
    next_retry_at: datetime | None
    services: dict[str, ServiceErasure]


class AdminErasureOut(ErasureOut):
    user_id: uuid.UUID
    requested_by: str


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    admin_id: uuid.UUID | None
    action: str
    target_user_id: uuid.UUID | None
    detail: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None


class Statistics(BaseModel):
    users: int
    verified: int
    suspended: int
    admins: int
    registered_last_24h: int
    registered_last_7d: int
    active_sessions: int
    deleted_accounts: int
    erasures_incomplete: int
    generated_at: datetime


class Revocations(BaseModel):
    suspended: list[str]
    not_before: dict[str, float]
    # Ended logins: session id (the `sid` claim) -> when its last access token expires.
    sessions: dict[str, float] = {}
    generated_at: str


class RegisterResponse(BaseModel):
    user: UserOut
    tokens: TokenResponse
