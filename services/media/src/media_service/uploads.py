"""An attachment across the database and the object store: upload, links, share, delete.

The blob and the row cannot share a transaction, so the order is what keeps them in step: an
upload stores the blob first and removes it when the row does not commit; a delete commits
first and removes the blobs after (a miss is an orphan `cleanup-orphans` removes).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from messaging_kit.blocks import BlockList
from messaging_kit.db import Database
from messaging_kit.problems import Problem
from sqlalchemy.orm import Session

from media_service import crud
from media_service.core.config import Settings
from media_service.core.storage import ObjectStore, original_key, thumbnail_key
from media_service.core.upload import ReceivedFile, receive_upload
from media_service.models import ThumbnailStatus
from media_service.schemas import AttachmentOut, DownloadOut

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Media:
    """What the operations need besides a session: the app's database, store and block list."""

    db: Database
    store: ObjectStore
    settings: Settings
    blocks: BlockList | None


async def upload(
    media: Media,
    owner: uuid.UUID,
    body: AsyncIterator[bytes],
    content_type: str,
    content_length: int | None,
    *,
    conversation_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
    participant_ids: list[uuid.UUID],
) -> AttachmentOut:
    """Check, stream to the store, record. Async: the body arrives on the event loop, and each
    database step runs in a worker thread with a session of its own (none is held while the
    file streams)."""
    if conversation_id and group_id:
        raise Problem(422, "one-context", "Name a conversation or a group, not both")
    # Before a byte is read: nobody shares a file with someone the block stands between.
    crud.refuse_blocked(media.blocks, owner, participant_ids)

    def check() -> None:
        with media.db.sessions() as session:
            crud.check_uploader(session, owner, group_id or conversation_id)

    await anyio.to_thread.run_sync(check)
    settings = media.settings
    received = await receive_upload(
        body,
        content_type,
        content_length,
        store=media.store,
        max_bytes=settings.max_upload_bytes,
        allowed_types=settings.allowed_types,
        max_image_pixels=settings.max_image_pixels,
    )

    def record(received: ReceivedFile) -> AttachmentOut:
        # The answer is built in this session: the row's created_at is the database's.
        with media.db.sessions() as session:
            attachment = crud.create_attachment(
                session,
                received,
                owner,
                conversation_id=conversation_id,
                group_id=group_id,
                participant_ids=participant_ids,
                blocks=media.blocks,
            )
            return AttachmentOut.of(attachment, crud.participant_ids(session, attachment.id))

    try:
        return await anyio.to_thread.run_sync(record, received)
    except Exception:
        # Not recorded: the blob would be an orphan. Cleanup would find it, but why wait.
        await anyio.to_thread.run_sync(media.store.remove, original_key(received.media_id))
        raise


def _expiry(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def described(
    session: Session, media: Media, media_id: uuid.UUID, viewer: uuid.UUID
) -> AttachmentOut:
    """Metadata and a short-lived presigned URL of the original (owner and participants)."""
    attachment = crud.readable_attachment(session, media_id, viewer)
    seconds = media.settings.presign_seconds
    out = AttachmentOut.of(attachment, crud.participant_ids(session, media_id))
    out.url = media.store.presigned_get(
        original_key(media_id),
        seconds,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    out.url_expires_at = _expiry(seconds)
    return out


def thumbnail_link(
    session: Session, media: Media, media_id: uuid.UUID, viewer: uuid.UUID
) -> DownloadOut:
    attachment = crud.readable_attachment(session, media_id, viewer)
    if attachment.thumbnail_status != ThumbnailStatus.READY:
        raise Problem(
            409,
            "no-thumbnail",
            "No thumbnail",
            attachment.thumbnail_error or f"thumbnail is {attachment.thumbnail_status}",
            thumbnail_status=attachment.thumbnail_status,
        )
    seconds = media.settings.presign_seconds
    url = media.store.presigned_get(thumbnail_key(media_id), seconds, content_type="image/webp")
    return DownloadOut(url=url, expires_at=_expiry(seconds))


def share(
    session: Session,
    media: Media,
    media_id: uuid.UUID,
    viewer: uuid.UUID,
    participant_ids: Iterable[uuid.UUID],
) -> AttachmentOut:
    """Replace who may download. Owner only; commits."""
    attachment = crud.owned_attachment(session, media_id, viewer)
    crud.set_participants(session, attachment, participant_ids, media.blocks)
    return AttachmentOut.of(attachment, crud.participant_ids(session, media_id))


def delete(session: Session, media: Media, media_id: uuid.UUID, viewer: uuid.UUID) -> None:
    """Commit the row's deletion, then remove its blobs. Owner only."""
    attachment = crud.owned_attachment(session, media_id, viewer)
    crud.delete_attachment(session, attachment)
    try:
        media.store.remove(original_key(media_id))
        media.store.remove(thumbnail_key(media_id))
    except Exception:
        # The row is gone, so the attachment is gone for everyone; a blob left behind is an
        # orphan that `cleanup-orphans` removes.
        log.exception("blob not removed", extra={"media_id": str(media_id)})
