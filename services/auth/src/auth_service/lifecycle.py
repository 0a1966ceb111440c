"""Account lifecycle: suspend, unsuspend, force logout, delete; and the revocation snapshot.

Every change that must stop tokens elsewhere publishes an event in the same transaction (the
outbox); every service's `messaging_kit.revocations` list applies it within a second.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.events import add_event
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from auth_service import SERVICE
from auth_service.models import EVENTS, DeletedUser, RefreshToken, User


def now() -> datetime:
    return datetime.now(UTC)


def revoke_sessions(session: Session, user: User, at: datetime) -> float:
    """Every refresh token dies; access tokens issued before `at` are refused from now on.
    Returns the cut-off as unix seconds, as the events carry it."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    user.tokens_not_before = at
    return at.timestamp()


def suspend(session: Session, user: User) -> None:
    at = now()
    user.suspended_at = at
    not_before = revoke_sessions(session, user, at)
    add_event(
        session,
        EVENTS,
        "user.suspended",
        SERVICE,
        {"user_id": str(user.id), "not_before": not_before},
    )


def unsuspend(session: Session, user: User) -> None:
    # Tokens from before the suspension stay revoked (tokens_not_before): log in again.
    user.suspended_at = None
    add_event(session, EVENTS, "user.unsuspended", SERVICE, {"user_id": str(user.id)})


def force_logout(session: Session, user: User) -> None:
    not_before = revoke_sessions(session, user, now())
    add_event(
        session,
        EVENTS,
        "user.tokens_revoked",
        SERVICE,
        {"user_id": str(user.id), "not_before": not_before},
    )


def delete_account(
    session: Session, user: User, *, requested_by: str, first_retry: timedelta
) -> DeletedUser:
    """Erase auth's rows of the user now and ask every other service to erase theirs.

    The users row goes (refresh tokens and verification tokens cascade with it), so nothing
    of the account can log in or refresh again; `user.deleted` makes every service refuse its
    unexpired access tokens too, and erase. Auth's outbox rows about the user (the
    `user.registered` body holds the email) go as well, except the new `user.deleted`.
    """
    at = now()
    record = DeletedUser(
        user_id=user.id,
        erasure_id=uuid.uuid4(),
        requested_at=at,
        requested_by=requested_by,
        publish_count=1,
        next_retry_at=at + first_retry,
    )
    session.add(record)
    outbox = EVENTS.outbox
    session.execute(delete(outbox).where(outbox.c.body["data"]["user_id"].astext == str(user.id)))
    session.delete(user)
    session.flush()
    publish_deleted(session, record)
    return record


def publish_deleted(session: Session, record: DeletedUser) -> None:
    """The contract with every service: {user_id, erasure_id, requested_at}; each publish is a
    new event id, the erasure id stays."""
    add_event(
        session,
        EVENTS,
        "user.deleted",
        SERVICE,
        {
            "user_id": str(record.user_id),
            "erasure_id": str(record.erasure_id),
            "requested_at": record.requested_at.isoformat(),
        },
    )


def revocation_snapshot(session: Session, horizon: timedelta) -> dict[str, Any]:
    """What `messaging_kit.revocations` loads: suspended users, users deleted within the
    horizon (older ones have no unexpired token left), and cut-offs younger than it."""
    since = now() - horizon
    suspended = session.scalars(select(User.id).where(User.suspended_at.is_not(None))).all()
    deleted = session.scalars(
        select(DeletedUser.user_id).where(DeletedUser.requested_at > since)
    ).all()
    cut_offs = session.execute(
        select(User.id, User.tokens_not_before).where(User.tokens_not_before > since)
    ).all()
    # Ended logins (logout, a reused refresh token): their sid until its last access token
    # has expired. Rides the partial index on revoked_at (migration 0003).
    ended = session.execute(
        select(RefreshToken.family_id, func.max(RefreshToken.revoked_at))
        .where(RefreshToken.revoked_at > since)
        .group_by(RefreshToken.family_id)
    ).all()
    return {
        "suspended": sorted(str(user) for user in [*suspended, *deleted]),
        "not_before": {str(user): when.timestamp() for user, when in cut_offs},
        "sessions": {str(family): (at + horizon).timestamp() for family, at in ended},
        "generated_at": now().isoformat(),
    }
