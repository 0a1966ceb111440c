"""/api/v1/users: own profile, search, other people's profiles."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from messaging_kit.validation import NO_NUL

from users_service import avatars, crud
from users_service.api.deps import ReadSessionDep, SessionDep, ViewerId
from users_service.schemas import ProfileOut, ProfileUpdate, SearchPage

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=ProfileOut)
def get_me(viewer: ViewerId, request: Request) -> Response:
    # No session and no response-model pass: the hottest read answers from one row.
    profile = ProfileOut.own(crud.own_profile(request.app.state.db, viewer))
    return Response(profile.model_dump_json(), media_type="application/json")


@router.patch("/me")
def update_me(
    body: ProfileUpdate, viewer: ViewerId, session: SessionDep, request: Request
) -> ProfileOut:
    profile = crud.get_profile(session, viewer)
    changes = body.model_dump(exclude_unset=True)
    avatar = changes.get("avatar_media_id")
    if avatar is not None and avatar != profile.avatar_media_id:
        settings = request.app.state.settings
        avatars.require_own_media(settings.media_url, settings.internal_token, viewer, avatar)
    if not (changes.get("display_name") or "").strip():
        changes.pop("display_name", None)  # a display name can change, not disappear
    else:
        changes["display_name"] = changes["display_name"].strip()
    if "status_text" in changes and changes["status_text"] is None:
        changes["status_text"] = ""
    if changes.get("presence_visibility", "") is None:
        changes.pop("presence_visibility")  # a setting is changed, never unset
    updated = crud.update_profile(session, profile, changes)
    return ProfileOut.of(updated, show_email=True, own=True)


@router.get("/search", response_model=SearchPage)
def search(
    viewer: ViewerId,
    session: ReadSessionDep,
    q: Annotated[
        str, Query(min_length=1, max_length=100, pattern=NO_NUL, description="username or prefix")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
) -> Response:
    hits, next_cursor = crud.search(session, viewer, q, limit=limit, after=cursor)
    page = SearchPage(items=[ProfileOut(**hit) for hit in hits], next_cursor=next_cursor)
    # Built once and sent as it is: no second pass through the response model.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/{user_id}")
def get_user(user_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> ProfileOut:
    profile, show_email = crud.visible_profile(session, viewer, user_id)
    return ProfileOut.of(profile, show_email)
