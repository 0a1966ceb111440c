"""Request and response bodies of auth's API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

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


class RegisterResponse(BaseModel):
    user: UserOut
    tokens: TokenResponse
