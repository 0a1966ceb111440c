"""Erasing a user: their profile, device keys, contacts and blocks in both directions,
invitations they sent or received. Runs in the consumer's transaction with the `user.erased`
confirmation."""

from __future__ import annotations

from dataclasses import dataclass

from messaging_kit.erasure import ErasureRequest, erasure_handler, rows_affected
from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from users_service import SERVICE
from users_service.models import EVENTS, Contact, DeviceKey, Invitation, Profile


@dataclass(frozen=True)
class Erased:
    profiles: int
    device_keys: int
    contacts: int
    invitations: int


def erase_user(session: Session, request: ErasureRequest) -> Erased:
    """Delete every row of the user; a second run finds nothing and deletes nothing."""
    user = request.user_id
    contacts = session.execute(
        delete(Contact).where(or_(Contact.owner_id == user, Contact.contact_id == user))
    )
    invitations = session.execute(
        delete(Invitation).where(or_(Invitation.inviter_id == user, Invitation.invitee_id == user))
    )
    device_keys = session.execute(delete(DeviceKey).where(DeviceKey.user_id == user))
    profiles = session.execute(delete(Profile).where(Profile.user_id == user))
    return Erased(
        profiles=rows_affected(profiles),
        device_keys=rows_affected(device_keys),
        contacts=rows_affected(contacts),
        invitations=rows_affected(invitations),
    )


handle_user_deleted = erasure_handler(SERVICE, EVENTS, erase_user)
