"""/api/v1/notifications/preferences: opt out (or back in) per kind of notification."""

from __future__ import annotations

from fastapi import APIRouter

from notifications_service import crud
from notifications_service.api.deps import SessionDep, ViewerId
from notifications_service.schemas import Preferences, PreferencesUpdate

router = APIRouter(prefix="/api/v1/notifications/preferences", tags=["preferences"])


@router.get("")
def get_preferences(viewer: ViewerId, session: SessionDep) -> Preferences:
    return Preferences(**crud.preferences(session, viewer))


@router.patch("")
def update_preferences(
    body: PreferencesUpdate, viewer: ViewerId, session: SessionDep
) -> Preferences:
    return Preferences(**crud.set_preferences(session, viewer, body.model_dump(exclude_none=True)))
