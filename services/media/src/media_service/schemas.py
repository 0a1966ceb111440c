"""Request and response bodies of the media API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from media_service.models import Attachment

MAX_PARTICIPANTS = 1000


class AttachmentOut(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    conversation_id: uuid.UUID | None
    group_id: uuid.UUID | None
    participant_ids: list[uuid.UUID]
    width: int | None
    height: int | None
    thumbnail_status: str
    created_at: datetime
    # A short-lived presigned URL of the original (on GET only).
    url: str | None = None
    url_expires_at: datetime | None = None

    @classmethod
    def of(cls, attachment: Attachment, participants: list[uuid.UUID]) -> AttachmentOut:
        return cls(
            id=attachment.id,
            owner_id=attachment.owner_id,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size_bytes=attachment.size_bytes,
            sha256=attachment.sha256,
            conversation_id=attachment.conversation_id,
            group_id=attachment.group_id,
            participant_ids=participants,
            width=attachment.width,
            height=attachment.height,
            thumbnail_status=attachment.thumbnail_status,
            created_at=attachment.created_at,
        )


class DownloadOut(BaseModel):
    url: str
    expires_at: datetime


class ParticipantsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_ids: list[uuid.UUID] = Field(max_length=MAX_PARTICIPANTS)
