"""/api/v1/invitations: create, list, accept, decline (overdue ones read as expired)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from users_service import crud
from users_service.api.deps import SessionDep, ViewerId
from users_service.schemas import InvitationOut, InvitationRequest

router = APIRouter(prefix="/api/v1/invitations", tags=["invitations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    body: InvitationRequest,
    viewer: ViewerId,
    session: SessionDep,
    request: Request,
    response: Response,
) -> InvitationOut:
    ttl = timedelta(seconds=request.app.state.settings.invitation_ttl_seconds)
    invitation = crud.create_invitation(session, viewer, body.invitee_id, body.message, ttl)
    response.headers["Location"] = f"/api/v1/invitations/{invitation.id}"
    return InvitationOut.of(invitation)


@router.get("")
def list_invitations(
    viewer: ViewerId,
    session: SessionDep,
    direction: Annotated[Literal["incoming", "outgoing"], Query()] = "incoming",
) -> list[InvitationOut]:
    return [InvitationOut.of(i) for i in crud.list_invitations(session, viewer, direction)]


@router.post("/{invitation_id}/accept")
def accept(invitation_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> InvitationOut:
    return InvitationOut.of(crud.accept_invitation(session, viewer, invitation_id))


@router.post("/{invitation_id}/decline")
def decline(invitation_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> InvitationOut:
    return InvitationOut.of(crud.decline_invitation(session, viewer, invitation_id))
