"""Erasure across services: confirmations from `user.erased`, status, and re-publishing
`user.deleted` (same erasure id, new event id) with backoff until every service confirmed.

`request` takes the request's session and commits it; the retrier and the `user.erased`
consumer run in transactions they (or the kit's consumer) open (services/README.md)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.db import Database
from messaging_kit.events import Event
from messaging_kit.problems import Problem
from messaging_kit.workers import BackgroundWorker
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from auth_service.core.security import Passwords
from auth_service.lifecycle import delete_account, publish_deleted
from auth_service.models import DeletedUser, ErasureConfirmation, User

log = logging.getLogger(__name__)


def retry_delay(publish_count: int, base_seconds: float, max_seconds: float) -> float:
    """Seconds until the next publish after `publish_count` publishes: base, 2x, 4x ... capped."""
    return float(min(max_seconds, base_seconds * 2 ** max(0, publish_count - 1)))


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def confirmations(session: Session, erasure_id: uuid.UUID) -> dict[str, datetime]:
    rows = session.execute(
        select(ErasureConfirmation.service, ErasureConfirmation.confirmed_at).where(
            ErasureConfirmation.erasure_id == erasure_id
        )
    ).all()
    return {service: confirmed_at for service, confirmed_at in rows}


def record_confirmation(session: Session, data: dict[str, Any], services: tuple[str, ...]) -> bool:
    """Apply one `user.erased`; idempotent. True when it completed the erasure."""
    erasure_id, service = parse_uuid(data.get("erasure_id")), str(data.get("service") or "")
    record = (
        session.scalars(
            select(DeletedUser).where(DeletedUser.erasure_id == erasure_id).with_for_update()
        ).first()
        if erasure_id
        else None
    )
    if record is None or service not in services or str(record.user_id) != str(data.get("user_id")):
        log.warning("user.erased for no known erasure ignored", extra={"data": data})
        return False
    session.execute(
        insert(ErasureConfirmation)
        .values(erasure_id=erasure_id, service=service)
        .on_conflict_do_nothing()
    )
    if record.completed_at is None and set(services) <= set(
        confirmations(session, record.erasure_id)
    ):
        record.completed_at = datetime.now(UTC)
        record.next_retry_at = None
        return True
    return False


def status(
    record: DeletedUser, confirmed: dict[str, datetime], services: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "erasure_id": str(record.erasure_id),
        "requested_at": record.requested_at,
        "complete": record.completed_at is not None,
        "completed_at": record.completed_at,
        "publish_count": record.publish_count,
        "next_retry_at": record.next_retry_at,
        "services": {
            name: (
                {"state": "confirmed", "confirmed_at": confirmed[name]}
                if name in confirmed
                else {"state": "pending", "confirmed_at": None}
            )
            for name in services
        },
    }


def find(session: Session, erasure_id: uuid.UUID) -> DeletedUser | None:
    return session.scalars(select(DeletedUser).where(DeletedUser.erasure_id == erasure_id)).first()


def tracked(session: Session, erasure_id: uuid.UUID) -> tuple[DeletedUser, dict[str, datetime]]:
    """An erasure and its confirmations so far; 404 when there is no such erasure."""
    record = find(session, erasure_id)
    if record is None:
        raise Problem(404, "erasure-not-found", "No such erasure")
    return record, confirmations(session, erasure_id)


def recent(
    session: Session, *, incomplete: bool, limit: int
) -> list[tuple[DeletedUser, dict[str, datetime]]]:
    """Newest first, each with its confirmations; `incomplete`: only those still waiting."""
    query = select(DeletedUser).order_by(DeletedUser.requested_at.desc()).limit(limit)
    if incomplete:
        query = query.where(DeletedUser.completed_at.is_(None))
    return [
        (record, confirmations(session, record.erasure_id))
        for record in session.scalars(query).all()
    ]


def request(
    session: Session, passwords: Passwords, user: User, password: str, *, first_retry: timedelta
) -> DeletedUser:
    """The user's own deletion, confirmed by their password (403 otherwise); commits."""
    if not passwords.verify(user.password_hash, password).ok:
        raise Problem(403, "wrong-password", "Password is wrong")
    record = delete_account(session, user, requested_by="self", first_retry=first_retry)
    session.commit()
    return record


def republish_due(
    session: Session, *, at: datetime, base_seconds: float, max_seconds: float, limit: int = 100
) -> int:
    """Publish `user.deleted` again for incomplete erasures whose retry time has come.
    Rows are locked with SKIP LOCKED, so several auth replicas share the work."""
    due = session.scalars(
        select(DeletedUser)
        .where(DeletedUser.completed_at.is_(None), DeletedUser.next_retry_at <= at)
        .order_by(DeletedUser.next_retry_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for record in due:
        publish_deleted(session, record)
        record.publish_count += 1
        record.next_retry_at = at + timedelta(
            seconds=retry_delay(record.publish_count, base_seconds, max_seconds)
        )
    return len(due)


class ErasureRetrier(BackgroundWorker):
    """The thread that calls republish_due every poll interval."""

    thread_name = "erasure-retrier"

    def __init__(
        self, db: Database, *, poll_seconds: float, base_seconds: float, max_seconds: float
    ) -> None:
        super().__init__()
        self.db = db
        self.poll_seconds = poll_seconds
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds

    def run(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            try:
                with self.db.sessions() as session, session.begin():
                    count = republish_due(
                        session,
                        at=datetime.now(UTC),
                        base_seconds=self.base_seconds,
                        max_seconds=self.max_seconds,
                    )
                if count:
                    log.info("user.deleted published again", extra={"count": count})
            except SQLAlchemyError as error:
                log.warning("erasure retry pass failed", extra={"error": repr(error)})


def erased_handler(services: tuple[str, ...]) -> Any:
    def user_erased(session: Session, event: Event) -> None:
        if record_confirmation(session, event.data, services):
            log.info("erasure complete", extra={"erasure_id": event.data.get("erasure_id")})

    return user_erased
