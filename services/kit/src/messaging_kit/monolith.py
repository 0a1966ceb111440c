"""Copying rows out of the legacy monolith's `users` table, idempotently and resumably.

Each service copies what it owns (auth: credentials, users: profiles) into its own database.
Progress is a checkpoint row in the target database, written in the same transaction as
each batch, so an interrupted run resumes where it stopped and a finished run, run again,
rescans everything and inserts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, create_engine, text

from messaging_kit.db import normalize_url

log = logging.getLogger(__name__)

# The legacy table's columns, as the monolith defined them.
LEGACY_COLUMNS = (
    "id, email, username, password_hash, public_keys, full_name, avatar_url, bio, "
    "is_active, created_at"
)
CHECKPOINT_DDL = """
CREATE TABLE IF NOT EXISTS monolith_import (
    name varchar(50) PRIMARY KEY,
    last_id uuid,
    copied integer NOT NULL DEFAULT 0,
    completed boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""

# insert_batch(target connection, legacy rows) -> how many rows were new
BatchWriter = Callable[[Connection, Sequence[Row[Any]]], int]


@dataclass
class ImportReport:
    name: str
    source_rows: int = 0
    read: int = 0
    inserted: int = 0
    resumed: bool = False
    completed: bool = False

    @property
    def already_present(self) -> int:
        return self.read - self.inserted

    def summary(self) -> str:
        state = "complete" if self.completed else "interrupted (run again to resume)"
        return (
            f"{self.name}: {state}; legacy rows {self.source_rows}, read {self.read}, "
            f"inserted {self.inserted}, already present {self.already_present}"
            + ("; resumed from checkpoint" if self.resumed else "")
        )


def import_legacy_users(
    name: str,
    source_url: str,
    target_url: str,
    write_batch: BatchWriter,
    *,
    batch_size: int = 1000,
    stop_after_batches: int | None = None,
) -> ImportReport:
    """Copy legacy users in id order; `stop_after_batches` simulates an interruption."""
    source = create_engine(normalize_url(source_url))
    target = create_engine(normalize_url(target_url))
    report = ImportReport(name=name)
    try:
        with source.connect() as legacy:
            report.source_rows = legacy.execute(text("SELECT count(*) FROM users")).scalar_one()
        with target.begin() as connection:
            connection.execute(text(CHECKPOINT_DDL))
            checkpoint = connection.execute(
                text("SELECT last_id, completed FROM monolith_import WHERE name = :name"),
                {"name": name},
            ).first()
        last_id = None
        if checkpoint is not None and not checkpoint.completed:
            last_id, report.resumed = checkpoint.last_id, True
        batches = 0
        while True:
            if stop_after_batches is not None and batches >= stop_after_batches:
                return report
            with source.connect() as legacy:
                rows = legacy.execute(
                    text(
                        f"SELECT {LEGACY_COLUMNS} FROM users"  # noqa: S608 - constant columns
                        " WHERE (CAST(:last AS uuid) IS NULL OR id > CAST(:last AS uuid))"
                        " ORDER BY id LIMIT :limit"
                    ),
                    {"last": str(last_id) if last_id else None, "limit": batch_size},
                ).all()
            done = len(rows) < batch_size
            with target.begin() as connection:
                inserted = write_batch(connection, rows) if rows else 0
                if rows:
                    last_id = rows[-1].id
                connection.execute(
                    text(
                        "INSERT INTO monolith_import (name, last_id, copied, completed)"
                        " VALUES (:name, :last, :inserted, :done)"
                        " ON CONFLICT (name) DO UPDATE SET last_id = :last, completed = :done,"
                        " copied = monolith_import.copied + :inserted, updated_at = now()"
                    ),
                    {"name": name, "last": last_id, "inserted": inserted, "done": done},
                )
            report.read += len(rows)
            report.inserted += inserted
            batches += 1
            log.info("legacy batch copied", extra={"read": report.read, "inserted": inserted})
            if done:
                report.completed = True
                return report
    finally:
        source.dispose()
        target.dispose()
