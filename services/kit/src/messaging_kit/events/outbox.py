"""The outbox and processed-events tables, and writing an event in the caller's transaction."""

from __future__ import annotations

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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session

from messaging_kit.events.envelope import Event, new_event


@dataclass(frozen=True)
class EventTables:
    outbox: Table
    processed: Table


def event_tables(metadata: MetaData) -> EventTables:
    """Define the two tables on a service's metadata (its alembic revision creates them)."""
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
    return EventTables(outbox=outbox, processed=processed)


def add_event(
    session: Session, tables: EventTables, event_type: str, source: str, data: dict[str, Any]
) -> Event:
    """Queue an event in the session's transaction: it is published only if that commits."""
    event = new_event(event_type, source, data)
    session.execute(
        tables.outbox.insert().values(id=event.id, event_type=event.type, body=event.to_json())
    )
    return event
