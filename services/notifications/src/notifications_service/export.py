"""What notifications holds of one user, for their own export (push target secrets are
credentials, shown once at registration, and stay out)."""

from __future__ import annotations

import uuid
from typing import Any

from messaging_kit.export import export_document, row_data
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications_service import SERVICE, crud
from notifications_service.models import DigestItem, PushTarget, Recipient


def user_export(session: Session, user: uuid.UUID) -> dict[str, Any]:
    recipient = session.get(Recipient, user)
    targets = session.scalars(select(PushTarget).where(PushTarget.user_id == user))
    digest = session.scalars(
        select(DigestItem).where(DigestItem.user_id == user).order_by(DigestItem.id)
    )
    return export_document(
        SERVICE,
        user,
        recipient=row_data(recipient) if recipient else None,
        preferences=crud.preferences(session, user),
        push_targets=[row_data(t, without=("secret",)) for t in targets],
        digest_items=[row_data(d) for d in digest],
    )
