"""/internal/v1: for the platform's own services only (service credentials; never routed)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from messaging_kit.internal import require_service_credentials

from users_service import crud
from users_service.api.deps import SessionDep
from users_service.contact_consent import accepting
from users_service.presence_audience import presence_visible_to

router = APIRouter(
    prefix="/internal/v1",
    tags=["internal"],
    dependencies=[Depends(require_service_credentials)],
)


@router.get("/blocks")
def blocks(session: SessionDep) -> dict[str, Any]:
    """Every block as [owner, blocked]: the snapshot of `messaging_kit.blocks`."""
    return {"blocks": crud.all_blocks(session)}


@router.get("/presence-audience")
def presence_audience(
    session: SessionDep,
    viewer: uuid.UUID,
    user_id: Annotated[list[uuid.UUID], Query(max_length=100)],
) -> dict[str, list[str]]:
    """Which of `user_id` show `viewer` their presence: websocket asks before each answer."""
    return {"visible": sorted(str(u) for u in presence_visible_to(session, viewer, user_id))}


@router.get("/contacts/accepting")
def contacts_accepting(
    session: SessionDep,
    contact_id: uuid.UUID,
    user_id: Annotated[list[uuid.UUID], Query(max_length=256)],
) -> dict[str, list[str]]:
    """Which of `user_id` accepted `contact_id` as a contact: groups adds those directly."""
    return {"accepting": sorted(str(u) for u in accepting(session, contact_id, user_id))}
