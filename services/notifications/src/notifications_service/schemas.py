"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from notifications_service.models import PushTarget


class Preferences(BaseModel):
    """Which kinds of notification a user gets; all are on until turned off."""

    welcome: bool = True
    invitation: bool = True
    digest: bool = True
    push: bool = True


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    welcome: bool | None = None
    invitation: bool | None = None
    digest: bool | None = None
    push: bool | None = None


class PushTargetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Explicit ranges, not \s: Python's \s also matches U+0085 and ECMA's (the OpenAPI
    # schema's) does not, so a client validating by the schema would be refused (fuzz found).
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\x00-\x20\x7f-\xa0]+$")


class PushTargetOut(BaseModel):
    id: uuid.UUID
    url: str
    created_at: datetime
    # The HMAC key of this target's signatures: returned once, when it is registered.
    secret: str | None = None

    @classmethod
    def of(cls, target: PushTarget, *, with_secret: bool = False) -> PushTargetOut:
        return cls(
            id=target.id,
            url=target.url,
            created_at=target.created_at,
            secret=target.secret if with_secret else None,
        )
