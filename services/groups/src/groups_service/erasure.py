"""Erasing a user from groups: their memberships, the group messages they sent, their wrapped
key in the others' messages. An owner's groups go on under a new owner, chosen as a person
would be asked to choose before leaving (crud.remove_member): the longest-standing admin, else
the longest-standing member. A group they were the last member of is deleted with its
messages. Invitations they sent or received are deleted. Members hear of it as a role change
and a removal with reason `erased`; the erased user is in no event's recipients (their
streams are being erased too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from messaging_kit.erasure import ErasureRequest, erasure_handler, rows_affected
from sqlalchemy import bindparam, delete, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from groups_service import SERVICE
from groups_service.crud import RANK, event, member_ids
from groups_service.models import EVENTS, OWNER, Group, GroupInvitation, GroupMessage, Member

STRIP_KEY = text(
    "UPDATE group_messages SET keys = keys - :user"
    " WHERE group_id = ANY(:groups) AND jsonb_exists(keys, :user)"
).bindparams(bindparam("groups", type_=ARRAY(UUID(as_uuid=True))))


@dataclass(frozen=True)
class Erased:
    memberships: int
    groups_deleted: int
    ownerships_handed_over: int
    messages: int


def successor(members: list[Member]) -> Member:
    """Highest role first (admins before members), then who joined first."""
    return min(members, key=lambda m: (-RANK[m.role], m.joined_at, str(m.user_id)))


def leave_group(session: Session, group_id: uuid.UUID, user: uuid.UUID) -> tuple[bool, bool]:
    """Take the user out of one (locked) group; (group deleted, ownership handed over)."""
    group = session.scalars(select(Group).where(Group.id == group_id).with_for_update()).one()
    leaving = session.get(Member, (group_id, user))
    if leaving is None:
        return False, False
    others = [
        m
        for m in session.scalars(select(Member).where(Member.group_id == group_id))
        if m.user_id != user
    ]
    if not others:
        session.delete(group)  # cascades to its members and messages
        session.flush()
        return True, False
    handed_over = leaving.role == OWNER
    session.delete(leaving)
    session.flush()
    remaining = member_ids(session, group_id)
    if handed_over:
        heir = successor(others)
        heir.role = OWNER
        if group.created_by == user:
            group.created_by = heir.user_id
        event(
            session,
            "group.member.role_changed",
            {
                "group_id": str(group_id),
                "user_id": str(heir.user_id),
                "role": OWNER,
                "changed_by": str(user),
            },
            remaining,
        )
    elif group.created_by == user:
        group.created_by = successor(others).user_id
    event(
        session,
        "group.member.removed",
        {
            "group_id": str(group_id),
            "user_id": str(user),
            "removed_by": str(user),
            "reason": "erased",
            "member_ids": remaining,
        },
        remaining,
    )
    return False, handed_over


def erase_user(session: Session, request: ErasureRequest) -> Erased:
    """Idempotent: once the user is in no group and sent nothing, a rerun changes nothing."""
    user = request.user_id
    # In id order, as every path that locks more than one group must, against deadlocks.
    groups = list(
        session.scalars(
            select(Member.group_id).where(Member.user_id == user).order_by(Member.group_id)
        )
    )
    deleted = handed = 0
    for group_id in groups:
        was_deleted, was_handed = leave_group(session, group_id, user)
        deleted += was_deleted
        handed += was_handed
    messages = session.execute(delete(GroupMessage).where(GroupMessage.sender_id == user))
    # Invitations they sent or received name them: gone with them.
    session.execute(
        delete(GroupInvitation).where(
            or_(GroupInvitation.inviter_id == user, GroupInvitation.invitee_id == user)
        )
    )
    session.execute(STRIP_KEY, {"user": str(user), "groups": groups})
    return Erased(
        memberships=len(groups),
        groups_deleted=deleted,
        ownerships_handed_over=handed,
        messages=rows_affected(messages),
    )


handle_user_deleted = erasure_handler(SERVICE, EVENTS, erase_user)
