"""/internal/v1: for the platform's own services only (service credentials; never routed)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from messaging_kit.internal import require_service_credentials
from messaging_kit.problems import Problem

from media_service.api.deps import SessionDep
from media_service.models import Attachment

router = APIRouter(
    prefix="/internal/v1",
    tags=["internal"],
    dependencies=[Depends(require_service_credentials)],
)


@router.get("/media/{media_id}/owner")
def media_owner(media_id: uuid.UUID, session: SessionDep) -> dict[str, str]:
    """Who uploaded it: users asks before an avatar may point at it."""
    attachment = session.get(Attachment, media_id)
    if attachment is None:
        raise Problem(404, "media-not-found", "No such media")
    return {"owner_id": str(attachment.owner_id)}
