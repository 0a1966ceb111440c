"""/api/v1/notifications/push-targets: the webhook endpoints a user's pushes go to."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from notifications_service import crud
from notifications_service.api.deps import SessionDep, ViewerId
from notifications_service.schemas import PushTargetOut, PushTargetRequest

router = APIRouter(prefix="/api/v1/notifications/push-targets", tags=["push"])


@router.post("", status_code=status.HTTP_201_CREATED)
def register(
    body: PushTargetRequest,
    viewer: ViewerId,
    session: SessionDep,
    request: Request,
    response: Response,
) -> PushTargetOut:
    """Register an endpoint; the answer carries its signing secret, shown only this once."""
    allow_http = request.app.state.settings.push_allow_http
    target = crud.register_push_target(session, viewer, body.url, allow_http=allow_http)
    response.headers["Location"] = f"/api/v1/notifications/push-targets/{target.id}"
    return PushTargetOut.of(target, with_secret=True)


@router.get("")
def list_targets(viewer: ViewerId, session: SessionDep) -> list[PushTargetOut]:
    return [PushTargetOut.of(target) for target in crud.push_targets(session, viewer)]


@router.delete("/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove(target_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    crud.remove_push_target(session, viewer, target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
