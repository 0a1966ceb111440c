"""/api/v1/groups/invitations: the invitations you received; accept (join) or decline."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from groups_service import invitations
from groups_service.api.deps import SessionDep, ViewerId
from groups_service.models import GroupInvitation
from groups_service.schemas import InvitationOut

router = APIRouter(prefix="/api/v1/groups/invitations", tags=["groups"])


def invitation_out(invitation: GroupInvitation, group_name: str) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        group_id=invitation.group_id,
        group_name=group_name,
        inviter_id=invitation.inviter_id,
        invitee_id=invitation.invitee_id,
        role=invitation.role,
        status=invitation.status,
        created_at=invitation.created_at,
    )


@router.get("")
def mine(viewer: ViewerId, session: SessionDep) -> list[InvitationOut]:
    return [invitation_out(i, name) for i, name in invitations.pending_for(session, viewer)]


@router.post("/{invitation_id}/accept")
def accept(
    invitation_id: uuid.UUID, request: Request, viewer: ViewerId, session: SessionDep
) -> InvitationOut:
    state = request.app.state
    invitation = invitations.accept(
        session, viewer, invitation_id, state.settings.max_members, state.blocks
    )
    return invitation_out(invitation, invitations.group_name(session, invitation.group_id))


@router.post("/{invitation_id}/decline")
def decline(invitation_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> InvitationOut:
    invitation = invitations.decline(session, viewer, invitation_id)
    return invitation_out(invitation, invitations.group_name(session, invitation.group_id))
