"""Whose presence and last seen a viewer may see: the per-user setting, judged here (users
owns contacts and blocks) and asked by websocket for every presence answer.

`contacts` (the default): the people the user accepted as contacts (their own address book,
as for the email); adding someone to yours shows you nothing of them. `everyone`: any user no
block stands between. `nobody`: no one. A user always sees their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from users_service.models import Contact, Profile

CONTACTS, EVERYONE, NOBODY = "contacts", "everyone", "nobody"
VISIBILITIES = (CONTACTS, EVERYONE, NOBODY)
ACCEPTED, BLOCKED = "accepted", "blocked"


def presence_visible_to(
    session: Session, viewer: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `user_ids` whose presence `viewer` may see."""
    others = set(user_ids) - {viewer}
    visible = {viewer} & set(user_ids)
    if not others:
        return visible
    rows = session.execute(
        select(Profile.user_id, Profile.presence_visibility).where(Profile.user_id.in_(others))
    ).all()
    settings: dict[uuid.UUID, str] = {user: setting for user, setting in rows}
    # Both directions of the pair: the user's entry for the viewer, and the viewer's block.
    entries = session.execute(
        select(Contact.owner_id, Contact.contact_id, Contact.status).where(
            or_(
                (Contact.owner_id.in_(others)) & (Contact.contact_id == viewer),
                (Contact.owner_id == viewer) & (Contact.contact_id.in_(others)),
            )
        )
    ).all()
    accepted = {owner for owner, _, status in entries if status == ACCEPTED and owner != viewer}
    blocked = {
        other
        for owner, contact, status in entries
        if status == BLOCKED
        for other in (owner, contact)
        if other != viewer
    }
    for user, setting in settings.items():
        if user in blocked or setting == NOBODY:
            continue
        if setting == EVERYONE or user in accepted:
            visible.add(user)
    return visible
