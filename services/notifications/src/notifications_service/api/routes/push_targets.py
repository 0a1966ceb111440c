"""/api/v1/notifications/push-targets: the webhook endpoints a user's pushes go to."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from messaging_kit.problems import Problem

from notifications_service import crud
from notifications_service.api.deps import SessionDep, ViewerId
from notifications_service.schemas import PushTargetOut, PushTargetRequest

router = APIRouter(prefix="/api/v1/notifications/push-targets", tags=["push"])
MAX_TARGETS_PER_USER = 10


@router.post("", status_code=status.HTTP_201_CREATED)
def register(
    body: PushTargetRequest,
    viewer: ViewerId,
    session: SessionDep,
    request: Request,
    response: Response,
) -> PushTargetOut:
    """Register an endpoint; the answer carries its signing secret, shown only this once."""
    if body.url.startswith("http://") and not request.app.state.settings.push_allow_http:
        raise Problem(422, "https-required", "Push endpoints must use https")
    if len(crud.push_targets(session, viewer)) >= MAX_TARGETS_PER_USER:
        raise Problem(409, "too-many-targets", f"At most {MAX_TARGETS_PER_USER} push targets")
    target = crud.add_push_target(session, viewer, body.url)
    response.headers["Location"] = f"/api/v1/notifications/push-targets/{target.id}"
    return PushTargetOut.of(target, with_secret=True)


@router.get("")
def list_targets(viewer: ViewerId, session: SessionDep) -> list[PushTargetOut]:
    return [PushTargetOut.of(target) for target in crud.push_targets(session, viewer)]


@router.delete("/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove(target_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    crud.remove_push_target(session, viewer, target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
