"""Digest emails for users away longer than `digest_offline_seconds`.

A worker thread looks every `digest_interval_seconds` at users with waiting items. One who is
online again (websocket's presence in Redis) gets the backlog live, so the items are dropped.
One away for that long (since websocket's last_seen, or when unknown since the oldest item)
who got no digest within that long is mailed one digest. Rows are locked with SKIP LOCKED, so
replicas share the work without mailing anyone twice. A failing send is retried at the next
round; after `digest_max_attempts` the items are parked (failed_at, last_error say when, why).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from messaging_kit.db import Database
from messaging_kit.workers import BackgroundWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications_service import crud
from notifications_service.core.config import Settings
from notifications_service.core.emails import Email, SmtpMailer, Templates
from notifications_service.core.presence import PresenceReader
from notifications_service.models import DigestItem, Recipient

log = logging.getLogger(__name__)
NAMED_SENDERS = 5


def waiting(session: Session) -> list[tuple[uuid.UUID, datetime, datetime | None]]:
    """(user, oldest waiting item, last digest) for every user with items waiting."""
    pending = DigestItem.sent_at.is_(None) & DigestItem.failed_at.is_(None)
    rows = session.execute(
        select(DigestItem.user_id, func.min(DigestItem.created_at), Recipient.last_digest_at)
        .outerjoin(Recipient, Recipient.user_id == DigestItem.user_id)
        .where(pending)
        .group_by(DigestItem.user_id, Recipient.last_digest_at)
    )
    return [(user, oldest, last) for user, oldest, last in rows]


def away_long_enough(
    presence: PresenceReader, user_id: uuid.UUID, oldest: datetime, now: datetime, window: timedelta
) -> bool:
    seen = presence.last_seen(str(user_id))
    away_since = datetime.fromtimestamp(seen, UTC) if seen is not None else oldest
    return now - away_since >= window


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
        recipient = session.get(Recipient, user_id, with_for_update=True)
        window = timedelta(seconds=settings.digest_offline_seconds)
        if (
            recipient is not None
            and recipient.last_digest_at
            and (now - recipient.last_digest_at < window)
        ):
            return False  # another replica mailed one since this round looked
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
    presence: PresenceReader,
    now: datetime | None = None,
) -> int:
    """One round; returns how many digests went out. Redis errors end the round early."""
    now = now or datetime.now(UTC)
    window = timedelta(seconds=settings.digest_offline_seconds)
    with db.sessions() as session:
        users = waiting(session)
    sent = 0
    for user_id, oldest, last_digest in users:
        if last_digest is not None and now - last_digest < window:
            continue
        if presence.online(str(user_id)):
            with db.sessions() as session, session.begin():
                crud.drop_pending_digest(session, user_id)
            continue
        if away_long_enough(presence, user_id, oldest, now, window):
            sent += send_digest(db, settings, mailer, templates, user_id, now)
    return sent


class DigestWorker(BackgroundWorker):
    thread_name = "digests"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        mailer: SmtpMailer,
        templates: Templates,
        presence: PresenceReader,
    ) -> None:
        super().__init__()
        self.db, self.settings, self.mailer = db, settings, mailer
        self.templates, self.presence = templates, presence

    def run(self) -> None:
        while not self._stopping.wait(self.settings.digest_interval_seconds):
            try:
                send_due_digests(self.db, self.settings, self.mailer, self.templates, self.presence)
            except Exception:
                log.exception("digest round failed")  # the next round tries again
