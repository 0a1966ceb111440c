"""Group invitations: adding someone who has not accepted the adder as a contact asks them
first. They accept (and join, with the role they were offered) or decline; a block between
the two, made meanwhile, still refuses at acceptance. Nobody is put into a group of a
stranger's choosing."""

from __future__ import annotations

import uuid

from messaging_kit.blocks import BlockList
from messaging_kit.problems import Problem
from messaging_kit.tombstones import refuse_erased
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from groups_service import crud
from groups_service.models import EVENTS, Group, GroupInvitation, Member

PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"


def add_invitation(
    session: Session, group: Group, inviter: uuid.UUID, invitee: uuid.UUID, role: str
) -> GroupInvitation:
    """The pending invitation (the one already pending is kept); tells the invitee. No commit."""
    session.execute(
        insert(GroupInvitation)
        .values(
            id=uuid.uuid4(), group_id=group.id, inviter_id=inviter, invitee_id=invitee, role=role
        )
        .on_conflict_do_nothing(
            index_elements=[GroupInvitation.group_id, GroupInvitation.invitee_id],
            index_where=GroupInvitation.status == PENDING,
        )
    )
    invitation = session.scalars(
        select(GroupInvitation).where(
            GroupInvitation.group_id == group.id,
            GroupInvitation.invitee_id == invitee,
            GroupInvitation.status == PENDING,
        )
    ).one()
    crud.event(
        session,
        "group.invitation.created",
        {
            "invitation_id": str(invitation.id),
            "group_id": str(group.id),
            "name": group.name,
            "inviter_id": str(inviter),
        },
        [str(invitee)],
    )
    return invitation


def invite(
    session: Session,
    viewer: uuid.UUID,
    group_id: uuid.UUID,
    user: uuid.UUID,
    role: str,
    blocks: BlockList | None = None,
) -> GroupInvitation:
    """What adding `user` becomes when they have not accepted `viewer` as a contact."""
    crud.check_add(session, viewer, group_id, user, role, blocks)
    group = session.get(Group, group_id)
    assert group is not None  # locked by check_add
    invitation = add_invitation(session, group, viewer, user, role)
    session.commit()
    return invitation


def pending_for(session: Session, user: uuid.UUID) -> list[tuple[GroupInvitation, str]]:
    """The user's open invitations with each group's name, newest first."""
    rows = session.execute(
        select(GroupInvitation, Group.name)
        .join(Group, Group.id == GroupInvitation.group_id)
        .where(GroupInvitation.invitee_id == user, GroupInvitation.status == PENDING)
        .order_by(GroupInvitation.created_at.desc())
        .limit(500)
    )
    return [(invitation, name) for invitation, name in rows]


def _own_pending(session: Session, user: uuid.UUID, invitation_id: uuid.UUID) -> GroupInvitation:
    invitation = session.get(GroupInvitation, invitation_id)
    # Someone else's invitation is not found, not forbidden: ids reveal nothing.
    if invitation is None or invitation.invitee_id != user:
        raise Problem(404, "invitation-not-found", "No such invitation")
    if invitation.status != PENDING:
        raise Problem(409, "invitation-answered", f"Invitation was already {invitation.status}")
    return invitation


def accept(
    session: Session,
    user: uuid.UUID,
    invitation_id: uuid.UUID,
    max_members: int,
    blocks: BlockList | None = None,
) -> GroupInvitation:
    found = session.get(GroupInvitation, invitation_id)
    if found is not None and found.invitee_id == user:
        crud.refuse_blocked(blocks, user, [found.inviter_id])
        refuse_erased(session, EVENTS, [user], "member")
        crud.locked_group(session, found.group_id)
    invitation = _own_pending(session, user, invitation_id)
    invitation.status = ACCEPTED
    if session.get(Member, (invitation.group_id, user)) is None:
        crud.join(
            session, invitation.group_id, user, invitation.role, invitation.inviter_id, max_members
        )
    session.commit()
    return invitation


def decline(session: Session, user: uuid.UUID, invitation_id: uuid.UUID) -> GroupInvitation:
    invitation = _own_pending(session, user, invitation_id)
    invitation.status = DECLINED
    session.commit()
    return invitation


def group_name(session: Session, group_id: uuid.UUID) -> str:
    return session.scalar(select(Group.name).where(Group.id == group_id)) or ""


def pending_in(session: Session, group_id: uuid.UUID) -> list[uuid.UUID]:
    return sorted(
        session.scalars(
            select(GroupInvitation.invitee_id).where(
                GroupInvitation.group_id == group_id, GroupInvitation.status == PENDING
            )
        ),
        key=str,
    )
