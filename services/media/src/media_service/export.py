"""What media holds of one user, for their own export: the attachments they uploaded, each
with short-lived presigned URLs of its original and (if made) its thumbnail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from messaging_kit.export import export_document, row_data
from sqlalchemy import select
from sqlalchemy.orm import Session

from media_service import SERVICE, crud
from media_service.core.storage import ObjectStore, original_key, thumbnail_key
from media_service.models import Attachment, ThumbnailStatus


def user_export(
    session: Session, user: uuid.UUID, store: ObjectStore, seconds: int
) -> dict[str, Any]:
    attachments = session.scalars(
        select(Attachment).where(Attachment.owner_id == user).order_by(Attachment.created_at)
    )
    items = []
    for attachment in attachments:
        item = row_data(attachment)
        item["participant_ids"] = crud.participant_ids(session, attachment.id)
        item["url"] = store.presigned_get(
            original_key(attachment.id),
            seconds,
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
        item["thumbnail_url"] = (
            store.presigned_get(thumbnail_key(attachment.id), seconds, content_type="image/webp")
            if attachment.thumbnail_status == ThumbnailStatus.READY
            else None
        )
        items.append(item)
    return export_document(SERVICE, user, urls_valid_seconds=seconds, attachments=items)


def exporter(store: ObjectStore, seconds: int) -> Callable[[Session, uuid.UUID], dict[str, Any]]:
    return lambda session, user: user_export(session, user, store, seconds)
