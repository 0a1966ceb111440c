"""/internal/v1: for the platform's own services only (service credentials; never routed)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from messaging_kit.internal import require_service_credentials

from media_service import crud
from media_service.api.deps import SessionDep

router = APIRouter(
    prefix="/internal/v1",
    tags=["internal"],
    dependencies=[Depends(require_service_credentials)],
)


@router.get("/media/{media_id}/owner")
def media_owner(media_id: uuid.UUID, session: SessionDep) -> dict[str, str]:
    """Who uploaded it: users asks before an avatar may point at it."""
    return {"owner_id": str(crud.owner_of(session, media_id))}
