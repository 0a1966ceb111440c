"""/api/v1/groups: create, read, rename, members and roles, post, history."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from groups_service import adding, crud
from groups_service.api.deps import BodyLimit, SessionDep, ViewerId
from groups_service.api.routes.invitations import invitation_out
from groups_service.models import Group, GroupMessage, Member
from groups_service.schemas import (
    AddMember,
    ChangeRole,
    CreateGroup,
    Cursor,
    GroupMessageOut,
    GroupMessagePage,
    GroupOut,
    GroupSummary,
    InvitationOut,
    MemberOut,
    PostMessage,
    Rename,
)

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])
Limit = Annotated[int, Query(ge=1, le=200)]


def group_out(group: Group, members: list[Member]) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        created_by=group.created_by,
        created_at=group.created_at,
        members=[MemberOut(user_id=m.user_id, role=m.role, joined_at=m.joined_at) for m in members],
    )


def message_out(message: GroupMessage, viewer: uuid.UUID) -> GroupMessageOut:
    return GroupMessageOut(
        id=message.id,
        seq=message.seq,
        group_id=message.group_id,
        sender_id=message.sender_id,
        ciphertext=base64.b64encode(message.ciphertext).decode(),
        nonce=base64.b64encode(message.nonce).decode(),
        wrapped_key=(message.keys or {}).get(str(viewer)),
        created_at=message.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[BodyLimit])
def create(
    body: CreateGroup, request: Request, response: Response, viewer: ViewerId, session: SessionDep
) -> GroupOut:
    state = request.app.state
    created = adding.create(session, viewer, body, state.settings, state.blocks)
    response.headers["Location"] = f"/api/v1/groups/{created.group.id}"
    out = group_out(created.group, created.members)
    out.invited = created.invited
    return out


@router.get("")
def mine(viewer: ViewerId, session: SessionDep) -> list[GroupSummary]:
    return [GroupSummary(id=g.id, name=g.name, role=r) for g, r in crud.my_groups(session, viewer)]


@router.get("/{group_id}")
def get(group_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> GroupOut:
    return group_out(*crud.get_group(session, viewer, group_id))


@router.patch("/{group_id}")
def rename(group_id: uuid.UUID, body: Rename, viewer: ViewerId, session: SessionDep) -> GroupOut:
    crud.rename(session, viewer, group_id, body.name)
    return group_out(*crud.get_group(session, viewer, group_id))


@router.post("/{group_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(
    group_id: uuid.UUID,
    body: AddMember,
    request: Request,
    response: Response,
    viewer: ViewerId,
    session: SessionDep,
) -> MemberOut | InvitationOut:
    """Adds a user who accepted you as a contact (201); invites anyone else (202)."""
    state = request.app.state
    added = adding.add(
        session, viewer, group_id, body.user_id, body.role, state.settings, state.blocks
    )
    if isinstance(added, adding.Invited):
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/api/v1/groups/invitations/{added.invitation.id}"
        return invitation_out(added.invitation, added.group_name)
    response.headers["Location"] = f"/api/v1/groups/{group_id}/members/{added.user_id}"
    return MemberOut(user_id=added.user_id, role=added.role, joined_at=added.joined_at)


@router.patch("/{group_id}/members/{user_id}")
def change_role(
    group_id: uuid.UUID, user_id: uuid.UUID, body: ChangeRole, viewer: ViewerId, session: SessionDep
) -> MemberOut:
    member = crud.change_role(session, viewer, group_id, user_id, body.role)
    return MemberOut(user_id=member.user_id, role=member.role, joined_at=member.joined_at)


@router.delete("/{group_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    group_id: uuid.UUID, user_id: uuid.UUID, viewer: ViewerId, session: SessionDep
) -> Response:
    """Leave the group (your own id) or remove a member below your role."""
    crud.remove_member(session, viewer, group_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{group_id}/messages",
    status_code=status.HTTP_201_CREATED,
    dependencies=[BodyLimit],
    responses={200: {"model": GroupMessageOut, "description": "a retry: stored before"}},
)
def post_message(
    group_id: uuid.UUID, body: PostMessage, request: Request, viewer: ViewerId, session: SessionDep
) -> Response:
    message, created = crud.post(
        session,
        viewer,
        group_id,
        body,
        request.app.state.settings.max_ciphertext_bytes,
        request.app.state.blocks,
    )
    out = message_out(message, viewer).model_dump(mode="json")
    location = f"/api/v1/groups/{group_id}/messages?after={message.seq - 1}&limit=1"
    return JSONResponse(out, status_code=201 if created else 200, headers={"Location": location})


@router.get("/{group_id}/messages")
def history(
    group_id: uuid.UUID,
    viewer: ViewerId,
    session: SessionDep,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: Limit = 50,
) -> GroupMessagePage:
    messages = crud.history(
        session,
        viewer,
        group_id,
        before=int(before) if before else None,
        after=int(after) if after is not None else None,
        limit=limit,
    )
    next_cursor = str(messages[-1].seq) if len(messages) == limit else None
    return GroupMessagePage(
        items=[message_out(m, viewer) for m in messages], next_cursor=next_cursor
    )
