"""/api/v1/media: upload (streamed), metadata with a presigned URL, thumbnail, share, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from media_service import uploads
from media_service.api.deps import SessionDep, ViewerId
from media_service.schemas import MAX_PARTICIPANTS, AttachmentOut, DownloadOut, ParticipantsUpdate

router = APIRouter(prefix="/api/v1/media", tags=["media"])

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


def _media(request: Request) -> uploads.Media:
    state = request.app.state
    return uploads.Media(state.db, state.store, state.settings, state.blocks)


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
    length = request.headers.get("content-length")
    out = await uploads.upload(
        _media(request),
        viewer,
        request.stream(),
        request.headers.get("content-type", ""),
        int(length) if length and length.isdigit() else None,
        conversation_id=conversation_id,
        group_id=group_id,
        participant_ids=participant_id,
    )
    response.headers["Location"] = f"/api/v1/media/{out.id}"
    return out


@router.get("/{media_id}")
def get_media(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
) -> AttachmentOut:
    """Metadata and a short-lived presigned URL of the original (owner and participants)."""
    return uploads.described(session, _media(request), media_id, viewer)


@router.get("/{media_id}/thumbnail", responses={409: {"description": "not made (yet)"}})
def get_thumbnail(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
) -> DownloadOut:
    return uploads.thumbnail_link(session, _media(request), media_id, viewer)


@router.put("/{media_id}/participants")
def set_participants(
    media_id: uuid.UUID,
    body: ParticipantsUpdate,
    request: Request,
    viewer: ViewerId,
    session: SessionDep,
) -> AttachmentOut:
    """Replace who may download (e.g. after group membership changed). Owner only."""
    return uploads.share(session, _media(request), media_id, viewer, body.participant_ids)


@router.delete("/{media_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_media(
    media_id: uuid.UUID, viewer: ViewerId, session: SessionDep, request: Request
) -> Response:
    """Delete the row, then its blobs. Owner only."""
    uploads.delete(session, _media(request), media_id, viewer)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
