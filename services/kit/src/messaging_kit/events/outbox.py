"""The outbox and processed-events tables, and writing an event in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from messaging_kit.events.envelope import Event, new_event
from messaging_kit.events.wakeup import OUTBOX_CHANNEL


@dataclass(frozen=True)
class EventTables:
    outbox: Table
    processed: Table
    # Users this service erased (messaging_kit.tombstones): no later event or request recreates
    # anything of theirs. Created by a revision of its own (services/README.md).
    erased_users: Table


def event_tables(metadata: MetaData) -> EventTables:
    """Define the tables on a service's metadata (its alembic revisions create them)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=False), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        # The relay only ever reads unsent rows, oldest first.
        Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", UUID(as_uuid=False), nullable=False),
        Column("consumer", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("event_id", "consumer"),
    )
    erased_users = Table(
        "erased_users",
        metadata,
        Column("user_id", UUID(as_uuid=True), primary_key=True),
        Column("erasure_id", UUID(as_uuid=False), nullable=False),
        Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return EventTables(outbox=outbox, processed=processed, erased_users=erased_users)


def add_event(
    session: Session,
    tables: EventTables,
    event_type: str,
    source: str,
    data: dict[str, Any],
    *,
    along_with: Iterable[UpdateBase] = (),
) -> Event:
    """Queue an event in the session's transaction: it is published only if that commits.

    One statement inserts the row and notifies the relay (delivered at commit, folded into one
    per transaction); `along_with` are other writes of the transaction (inserts, upserts,
    updates that need no result) sent in that same statement, a round trip saved each.
    created_at is the insert's clock time, not the transaction's start: a writer holding a
    per-aggregate lock then orders its events as it commits them.
    """
    event = new_event(event_type, source, data)
    queued = (
        tables.outbox.insert()
        .values(
            id=event.id,
            event_type=event.type,
            body=event.to_json(),
            created_at=func.clock_timestamp(),
        )
        .returning(tables.outbox.c.id)
        .cte("queued")
    )
    statement = select(func.pg_notify(literal(OUTBOX_CHANNEL), literal(""))).select_from(queued)
    for number, write in enumerate(along_with):
        # PostgreSQL runs every data-modifying WITH clause, read or not.
        statement = statement.add_cte(write.cte(f"along_{number}"))
    session.execute(statement)
    return event
