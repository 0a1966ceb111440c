"""Putting users into a group: those who accepted the adder as a contact join, anyone else is
invited (groups_service.consent says who). Consent is asked of users before the group's row is
locked, so no lock waits on that round trip; each step then commits as crud's do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from messaging_kit.blocks import BlockList
from sqlalchemy.orm import Session

from groups_service import crud, invitations
from groups_service.consent import consenting
from groups_service.core.config import Settings
from groups_service.models import Group, GroupInvitation, Member
from groups_service.schemas import CreateGroup


@dataclass(frozen=True)
class Created:
    group: Group
    members: list[Member]
    invited: list[uuid.UUID]


@dataclass(frozen=True)
class Invited:
    invitation: GroupInvitation
    group_name: str


def create(
    session: Session, owner: uuid.UUID, body: CreateGroup, settings: Settings, blocks: BlockList
) -> Created:
    named = set(body.member_ids) - {owner}
    direct = consenting(settings.contacts_url, settings.internal_token, owner, named)
    group = crud.create_group(session, owner, body, settings.max_members, blocks, named - direct)
    _, members = crud.get_group(session, owner, group.id)
    return Created(group, members, invitations.pending_in(session, group.id))


def add(
    session: Session,
    viewer: uuid.UUID,
    group_id: uuid.UUID,
    user: uuid.UUID,
    role: str,
    settings: Settings,
    blocks: BlockList,
) -> Member | Invited:
    """The new member, or the invitation sent instead."""
    if user in consenting(settings.contacts_url, settings.internal_token, viewer, {user}):
        return crud.add_member(session, viewer, group_id, user, role, settings.max_members, blocks)
    invitation = invitations.invite(session, viewer, group_id, user, role, blocks)
    return Invited(invitation, invitations.group_name(session, group_id))
