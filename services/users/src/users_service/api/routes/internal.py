"""/internal/v1: for the platform's own services only (service credentials; never routed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from messaging_kit.internal import require_service_credentials

from users_service import crud
from users_service.api.deps import SessionDep

router = APIRouter(
    prefix="/internal/v1",
    tags=["internal"],
    dependencies=[Depends(require_service_credentials)],
)


@router.get("/blocks")
def blocks(session: SessionDep) -> dict[str, Any]:
    """Every block as [owner, blocked]: the snapshot of `messaging_kit.blocks`."""
    return {"blocks": crud.all_blocks(session)}
