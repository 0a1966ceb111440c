"""`messaging-media cleanup-orphans`: blobs without rows and rows without blobs.

Both happen by design: an upload stores the blob before its row commits, and a delete removes
the row before its blobs, so a crash in between leaves one without the other. Anything younger
than the grace period may be an upload or a delete in flight and is left alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from media_service import crud
from media_service.core.storage import (
    ORIGINALS,
    THUMBNAIL_SUFFIX,
    THUMBNAILS,
    ObjectStore,
    StoredObject,
    thumbnail_key,
)
from media_service.models import Attachment

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class CleanupReport:
    dry_run: bool
    blobs_removed: list[str] = field(default_factory=list)
    rows_removed: list[uuid.UUID] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"{verb} {len(self.blobs_removed)} blobs without rows and "
            f"{len(self.rows_removed)} rows without blobs"
        )


def media_id_of(key: str, prefix: str, suffix: str = "") -> uuid.UUID | None:
    name = key[len(prefix) :]
    if suffix:
        if not name.endswith(suffix):
            return None
        name = name[: -len(suffix)]
    try:
        media_id = uuid.UUID(name)
    except ValueError:
        return None
    return media_id if str(media_id) == name else None


def batched(items: Iterable[StoredObject], size: int) -> Iterator[list[StoredObject]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _old(moment: datetime | None, cutoff: datetime) -> bool:
    return moment is not None and moment < cutoff


def blobs_without_rows(
    session: Session, objects: Iterable[StoredObject], prefix: str, suffix: str, cutoff: datetime
) -> Iterator[str]:
    """Keys under prefix older than cutoff whose id has no row (or that name no id at all)."""
    for batch in batched(objects, BATCH):
        ids = {obj.key: media_id_of(obj.key, prefix, suffix) for obj in batch}
        wanted = [media_id for media_id in ids.values() if media_id is not None]
        known = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(wanted))))
        for obj in batch:
            if ids[obj.key] not in known and _old(obj.last_modified, cutoff):
                yield obj.key


def rows_without_blobs(
    session: Session, store: ObjectStore, cutoff: datetime
) -> Iterator[uuid.UUID]:
    """Rows older than cutoff whose original is missing: one ordered walk of the rows beside
    one ordered listing of the originals (uuid order is the order of their text form)."""
    stored = (
        stored_id
        for stored_id in (media_id_of(obj.key, ORIGINALS) for obj in store.list(ORIGINALS))
        if stored_id is not None
    )
    current = next(stored, None)
    rows = session.execute(
        select(Attachment.id, Attachment.created_at)
        .order_by(Attachment.id)
        .execution_options(stream_results=True, yield_per=BATCH)
    )
    for media_id, created_at in rows:
        while current is not None and str(current) < str(media_id):
            current = next(stored, None)
        if current != media_id and _old(created_at, cutoff):
            yield media_id


def cleanup_orphans(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    *,
    grace: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CleanupReport:
    cutoff = (now or datetime.now(UTC)) - grace
    report = CleanupReport(dry_run=dry_run)
    with sessions() as session:
        orphans = [
            *blobs_without_rows(session, store.list(ORIGINALS), ORIGINALS, "", cutoff),
            *blobs_without_rows(
                session, store.list(THUMBNAILS), THUMBNAILS, THUMBNAIL_SUFFIX, cutoff
            ),
        ]
        session.rollback()
        missing = list(rows_without_blobs(session, store, cutoff))
        session.rollback()
        for key in orphans:
            if not dry_run:
                store.remove(key)
            report.blobs_removed.append(key)
        for media_id in missing:
            attachment = session.get(Attachment, media_id)
            if attachment is None:
                continue
            if not dry_run:
                crud.delete_attachment(session, attachment)
                store.remove(thumbnail_key(media_id))
            report.rows_removed.append(media_id)
    log.info(
        "orphan cleanup",
        extra={
            "dry_run": dry_run,
            "blobs": len(report.blobs_removed),
            "rows": len(report.rows_removed),
        },
    )
    return report
