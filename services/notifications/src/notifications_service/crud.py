"""Plain functions over a session: recipients, preferences, presence, digest items, targets."""

from __future__ import annotations

import secrets
import uuid

from messaging_kit.problems import Problem
from messaging_kit.tombstones import refuse_erased
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications_service.models import (
    EVENTS,
    KINDS,
    DigestItem,
    Preference,
    PushDelivery,
    PushTarget,
    Recipient,
)


def save_recipient(session: Session, user_id: uuid.UUID, email: str, display_name: str) -> None:
    statement = insert(Recipient).values(
        user_id=user_id, email=email, display_name=display_name[:100]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Recipient.user_id],
            set_={
                "email": statement.excluded.email,
                "display_name": statement.excluded.display_name,
            },
        )
    )


def preferences(session: Session, user_id: uuid.UUID) -> dict[str, bool]:
    rows = session.execute(
        select(Preference.kind, Preference.enabled).where(Preference.user_id == user_id)
    )
    chosen = {kind: enabled for kind, enabled in rows}
    return {kind: chosen.get(kind, True) for kind in KINDS}


def wants(session: Session, user_id: uuid.UUID, kind: str) -> bool:
    enabled = session.scalar(
        select(Preference.enabled).where(Preference.user_id == user_id, Preference.kind == kind)
    )
    return enabled is None or enabled


def set_preferences(
    session: Session, user_id: uuid.UUID, changes: dict[str, bool]
) -> dict[str, bool]:
    """Apply the changes, commit; every kind's setting after them."""
    # An erased user's request still in flight (its token checked before the revocation).
    refuse_erased(session, EVENTS, [user_id], "preferences")
    for kind, enabled in changes.items():
        statement = insert(Preference).values(user_id=user_id, kind=kind, enabled=enabled)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[Preference.user_id, Preference.kind], set_={"enabled": enabled}
            )
        )
    session.commit()
    return preferences(session, user_id)


def drop_pending_digest(session: Session, user_id: uuid.UUID) -> None:
    """They are back and get their backlog live: a digest of it would be old news."""
    session.execute(
        delete(DigestItem).where(
            DigestItem.user_id == user_id,
            DigestItem.sent_at.is_(None),
            DigestItem.failed_at.is_(None),
        )
    )


def add_digest_item(
    session: Session,
    user_id: uuid.UUID,
    event_id: uuid.UUID,
    sender_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
) -> None:
    session.execute(
        insert(DigestItem)
        .values(user_id=user_id, event_id=event_id, sender_id=sender_id, group_id=group_id)
        .on_conflict_do_nothing()
    )


def add_push_target(session: Session, user_id: uuid.UUID, url: str) -> PushTarget:
    refuse_erased(session, EVENTS, [user_id], "push target")
    target = PushTarget(user_id=user_id, url=url, secret=secrets.token_urlsafe(32))
    session.add(target)
    session.commit()
    return target


MAX_TARGETS_PER_USER = 10


def register_push_target(
    session: Session, user_id: uuid.UUID, url: str, *, allow_http: bool
) -> PushTarget:
    """A user's new endpoint: https unless allowed otherwise, at most MAX_TARGETS_PER_USER."""
    if url.startswith("http://") and not allow_http:
        raise Problem(422, "https-required", "Push endpoints must use https")
    if len(push_targets(session, user_id)) >= MAX_TARGETS_PER_USER:
        raise Problem(409, "too-many-targets", f"At most {MAX_TARGETS_PER_USER} push targets")
    return add_push_target(session, user_id, url)


def push_targets(session: Session, user_id: uuid.UUID) -> list[PushTarget]:
    return list(
        session.scalars(
            select(PushTarget).where(PushTarget.user_id == user_id).order_by(PushTarget.created_at)
        )
    )


# Built once, in SQL: building and keying the same query with SQLAlchemy's expressions on every
# message cost twice its round trips.
ANYONE_TO_PUSH = text(
    "SELECT EXISTS (SELECT 1 FROM push_targets t"
    " WHERE t.user_id = ANY(CAST(:users AS uuid[])) AND NOT EXISTS (SELECT 1 FROM preferences p"
    " WHERE p.user_id = t.user_id AND p.kind = 'push' AND NOT p.enabled))"
)


def anyone_to_push(connection: Connection | Session, user_ids: list[uuid.UUID]) -> bool:
    """Whether one of these users has a push target and has not turned push off."""
    if not user_ids:
        return False
    return bool(connection.scalar(ANYONE_TO_PUSH, {"users": [str(user) for user in user_ids]}))


def remove_push_target(session: Session, user_id: uuid.UUID, target_id: uuid.UUID) -> None:
    target = session.get(PushTarget, target_id)
    if target is None or target.user_id != user_id:
        raise Problem(404, "push-target-not-found", "No such push target")
    session.delete(target)
    session.commit()


def delivered(session: Session, event_id: uuid.UUID, target_id: uuid.UUID) -> bool:
    return session.get(PushDelivery, (event_id, target_id)) is not None


def record_delivery(session: Session, event_id: uuid.UUID, target_id: uuid.UUID) -> None:
    session.execute(
        insert(PushDelivery).values(event_id=event_id, target_id=target_id).on_conflict_do_nothing()
    )
