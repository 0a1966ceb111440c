"""Digest emails for users away longer than `digest_offline_seconds`.

A worker thread looks every `digest_interval_seconds` for users with waiting items who are
offline (or never seen online since the items came) for that long and got no digest within
that long, and mails each one digest. Rows are locked with SKIP LOCKED, so replicas share the
work without mailing anyone twice. A failing send is retried at the next round; after
`digest_max_attempts` the items are parked (failed_at, last_error say when and why).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

from messaging_kit.db import Database
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from notifications_service.core.config import Settings
from notifications_service.core.emails import Email, SmtpMailer, Templates
from notifications_service.models import DigestItem, Presence, Recipient

log = logging.getLogger(__name__)
NAMED_SENDERS = 5


def due_users(session: Session, cutoff: datetime) -> list[uuid.UUID]:
    pending = DigestItem.sent_at.is_(None) & DigestItem.failed_at.is_(None)
    away_since = func.coalesce(Presence.changed_at, func.min(DigestItem.created_at))
    return list(
        session.scalars(
            select(DigestItem.user_id)
            .outerjoin(Presence, Presence.user_id == DigestItem.user_id)
            .outerjoin(Recipient, Recipient.user_id == DigestItem.user_id)
            .where(pending, or_(Presence.online.is_(None), Presence.online.is_(False)))
            .where(or_(Recipient.last_digest_at.is_(None), Recipient.last_digest_at <= cutoff))
            .group_by(DigestItem.user_id, Presence.changed_at)
            .having(away_since <= cutoff)
        )
    )


def sender_names(session: Session, items: list[DigestItem]) -> list[str]:
    ids = list(dict.fromkeys(item.sender_id for item in items if item.sender_id))
    rows = session.execute(
        select(Recipient.user_id, Recipient.display_name).where(Recipient.user_id.in_(ids))
    )
    names = {user_id: name for user_id, name in rows}
    return [names[sender] for sender in ids if sender in names]


def send_digest(
    db: Database,
    settings: Settings,
    mailer: SmtpMailer,
    templates: Templates,
    user_id: uuid.UUID,
    now: datetime,
) -> bool:
    with db.sessions() as session, session.begin():
        items = list(
            session.scalars(
                select(DigestItem)
                .where(
                    DigestItem.user_id == user_id,
                    DigestItem.sent_at.is_(None),
                    DigestItem.failed_at.is_(None),
                )
                .order_by(DigestItem.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not items:
            return False  # another replica has them
        recipient = session.get(Recipient, user_id)
        try:
            if recipient is None:
                raise LookupError("no email address known for this user")
            names = sender_names(session, items)
            subject, text, html = templates.render(
                "digest",
                display_name=recipient.display_name,
                count=len(items),
                senders=names[:NAMED_SENDERS],
                others=max(0, len(names) - NAMED_SENDERS),
                app_url=settings.app_url,
            )
            domain = settings.mail_from.rpartition("@")[2].rstrip(">").strip()
            mailer.send(
                Email(
                    recipient.email,
                    recipient.display_name,
                    subject,
                    text,
                    html,
                    f"<digest.{user_id}.{items[-1].id}@{domain}>",
                )
            )
        except Exception as error:
            for item in items:
                item.attempts += 1
                item.last_error = f"{type(error).__name__}: {error}"[:1000]
                if item.attempts >= settings.digest_max_attempts:
                    item.failed_at = now
            log.warning("digest not sent", extra={"user_id": str(user_id), "error": repr(error)})
            return False
        for item in items:
            item.sent_at = now
        recipient.last_digest_at = now
    log.info("digest sent", extra={"user_id": str(user_id), "items": len(items)})
    return True


def send_due_digests(
    db: Database,
    settings: Settings,
    mailer: SmtpMailer,
    templates: Templates,
    now: datetime | None = None,
) -> int:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.digest_offline_seconds)
    with db.sessions() as session:
        users = due_users(session, cutoff)
    return sum(send_digest(db, settings, mailer, templates, user, now) for user in users)


class DigestWorker:
    def __init__(
        self, db: Database, settings: Settings, mailer: SmtpMailer, templates: Templates
    ) -> None:
        self.db, self.settings, self.mailer, self.templates = db, settings, mailer, templates
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="digests", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while not self._stopping.wait(self.settings.digest_interval_seconds):
            try:
                send_due_digests(self.db, self.settings, self.mailer, self.templates)
            except Exception:
                log.exception("digest round failed")  # the next round tries again
