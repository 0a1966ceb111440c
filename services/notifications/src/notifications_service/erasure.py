"""Erasing a user from notifications: their address, preferences, push targets (and the
record of what was pushed to them), digest items waiting for them, and digest items about
messages they sent to others (those messages are erased, a digest must not mention them)."""

from __future__ import annotations

from dataclasses import dataclass

from messaging_kit.erasure import ErasureRequest, erasure_handler, rows_affected
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from notifications_service import SERVICE
from notifications_service.models import (
    EVENTS,
    DigestItem,
    Preference,
    PushDelivery,
    PushTarget,
    Recipient,
)


@dataclass(frozen=True)
class Erased:
    recipient: int
    push_targets: int
    digest_items: int


def erase_user(session: Session, request: ErasureRequest) -> Erased:
    user = request.user_id
    targets = select(PushTarget.id).where(PushTarget.user_id == user)
    session.execute(delete(PushDelivery).where(PushDelivery.target_id.in_(targets)))
    pushes = session.execute(delete(PushTarget).where(PushTarget.user_id == user))
    digest = session.execute(
        delete(DigestItem).where(or_(DigestItem.user_id == user, DigestItem.sender_id == user))
    )
    session.execute(delete(Preference).where(Preference.user_id == user))
    recipient = session.execute(delete(Recipient).where(Recipient.user_id == user))
    return Erased(
        recipient=rows_affected(recipient),
        push_targets=rows_affected(pushes),
        digest_items=rows_affected(digest),
    )


handle_user_deleted = erasure_handler(SERVICE, EVENTS, erase_user)
