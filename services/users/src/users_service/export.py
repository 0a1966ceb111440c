"""What users holds of one user, for their own export."""

from __future__ import annotations

import uuid
from typing import Any

from messaging_kit.export import export_document, row_data
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from users_service import SERVICE
from users_service.models import Contact, DeviceKey, Invitation, Profile


def user_export(session: Session, user: uuid.UUID) -> dict[str, Any]:
    profile = session.get(Profile, user)
    contacts = session.scalars(select(Contact).where(Contact.owner_id == user))
    devices = session.scalars(
        select(DeviceKey).where(DeviceKey.user_id == user).order_by(DeviceKey.created_at)
    )
    invitations = session.scalars(
        select(Invitation)
        .where(or_(Invitation.inviter_id == user, Invitation.invitee_id == user))
        .order_by(Invitation.created_at)
    )
    return export_document(
        SERVICE,
        user,
        profile=row_data(profile) if profile else None,
        device_keys=[row_data(d) for d in devices],
        # Only the user's own list: who listed or blocked them is the others' data.
        contacts=[row_data(c) for c in contacts],
        invitations=[row_data(i) for i in invitations],
    )
