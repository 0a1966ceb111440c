"""/api/v1/media: upload (streamed), metadata with a presigned URL, thumbnail, share, delete."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response, status
from messaging_kit.problems import Problem

from media_service import crud
from media_service.api.deps import SessionDep, ViewerId
from media_service.core.storage import ObjectStore, original_key, thumbnail_key
from media_service.core.upload import ReceivedFile, receive_upload
from media_service.models import ThumbnailStatus
from media_service.schemas import MAX_PARTICIPANTS, AttachmentOut, DownloadOut, ParticipantsUpdate

router = APIRouter(prefix="/api/v1/media", tags=["media"])
log = logging.getLogger(__name__)

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


@router.post(
    "/upload",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
    responses={
        403: {"description": "not a member of the conversation or group"},
        413: {"description": "over MAX_UPLOAD_BYTES"},
        415: {"description": "not multipart, or a type not on the allow-list"},
    },
)
async def upload(
    request: Request,
    response: Response,
    viewer: ViewerId,
    conversation_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    participant_id: Annotated[list[uuid.UUID], Query(max_length=MAX_PARTICIPANTS)] = [],  # noqa: B006
) -> AttachmentOut:
    """Stream the `file` field to storage. Name the conversation or group it belongs to: its
    members, and you, may download it. Members come from messages' and groups' events; until
    media has heard of the conversation or group, the `participant_id`s named here decide."""
    if conversation_id and group_id:
        raise Problem(422, "one-context", "Name a conversation or a group, not both")
    settings, store, db = request.app.state.settings, _store(request), request.app.state.db

    # Before a byte is read: nobody shares a file with someone the block stands between.
    crud.refuse_blocked(request.app.state.blocks, viewer, participant_id)

    def check() -> None:
        with db.sessions() as session:
            crud.check_uploader(session, viewer, group_id or conversation_id)

    await anyio.to_thread.run_sync(check)
    length = request.headers.get("content-length")
    received = await receive_upload(
        request.stream(),
        request.headers.get("content-type", ""),
        int(length) if length and length.isdigit() else None,
        store=store,
        max_bytes=settings.max_upload_bytes,
        allowed_types=settings.allowed_types,
        max_image_pixels=settings.max_image_pixels,
    )

    def record(received: ReceivedFile) -> AttachmentOut:
        with db.sessions() as session:
            attachment = crud.create_attachment(
                session,
                received,
                viewer,
                conversation_id=conversation_id,
                group_id=group_id,
                participant_ids=participant_id,
                blocks=request.app.state.blocks,
            )
            return AttachmentOut.of(attachment, crud.participant_ids(session, attachment.id))

    try:
        out = await anyio.to_thread.run_sync(record, received)
    except Exception:
        # Not recorded: the blob would be an orphan. Cleanup would find it, but why wait.
        await anyio.to_thread.run_sync(store.remove, original_key(received.media_id))
        raise
    response.headers["Location"] = f"/api/v1/media/{received.media_id}"
    return out


def _expiry(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@router.get("/{media_id}")
def get_media(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
) -> AttachmentOut:
    """Metadata and a short-lived presigned URL of the original (owner and participants)."""
    attachment = crud.readable_attachment(session, media_id, viewer)
    seconds = request.app.state.settings.presign_seconds
    out = AttachmentOut.of(attachment, crud.participant_ids(session, media_id))
    out.url = _store(request).presigned_get(
        original_key(media_id),
        seconds,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    out.url_expires_at = _expiry(seconds)
    return out


@router.get("/{media_id}/thumbnail", responses={409: {"description": "not made (yet)"}})
def get_thumbnail(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
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
    seconds = request.app.state.settings.presign_seconds
    url = _store(request).presigned_get(thumbnail_key(media_id), seconds, content_type="image/webp")
    return DownloadOut(url=url, expires_at=_expiry(seconds))


@router.put("/{media_id}/participants")
def set_participants(
    media_id: uuid.UUID,
    body: ParticipantsUpdate,
    request: Request,
    viewer: ViewerId,
    session: SessionDep,
) -> AttachmentOut:
    """Replace who may download (e.g. after group membership changed). Owner only."""
    attachment = crud.owned_attachment(session, media_id, viewer)
    crud.set_participants(session, attachment, body.participant_ids, request.app.state.blocks)
    return AttachmentOut.of(attachment, crud.participant_ids(session, media_id))


@router.delete("/{media_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_media(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
) -> Response:
    """Delete the row, then its blobs. Owner only."""
    attachment = crud.owned_attachment(session, media_id, viewer)
    crud.delete_attachment(session, attachment)
    store = _store(request)
    try:
        store.remove(original_key(media_id))
        store.remove(thumbnail_key(media_id))
    except Exception:
        # The row is gone, so the attachment is gone for everyone; a blob left behind is an
        # orphan that `cleanup-orphans` removes.
        log.exception("blob not removed", extra={"media_id": str(media_id)})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
