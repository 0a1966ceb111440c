"""Auth's half of `migrate-from-monolith`: credentials, with the legacy bcrypt hashes as they
are (they verify through bcrypt and are rehashed to argon2id at the next successful login)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from messaging_kit.monolith import ImportReport, import_legacy_users
from sqlalchemy import Connection, Row, func
from sqlalchemy.dialects.postgresql import insert

from auth_service.models import User


def write_credentials(connection: Connection, rows: Sequence[Row[Any]]) -> int:
    statement = (
        insert(User)
        .values(
            [
                {
                    "id": row.id,
                    "email": row.email.strip().lower(),
                    "username": row.username,
                    "password_hash": row.password_hash,
                    "display_name": row.full_name,
                    "is_active": True if row.is_active is None else row.is_active,
                    "created_at": row.created_at or func.now(),
                }
                for row in rows
            ]
        )
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    return len(connection.execute(statement).all())


def import_credentials(
    source_url: str,
    database_url: str,
    *,
    batch_size: int = 1000,
    stop_after_batches: int | None = None,
) -> ImportReport:
    return import_legacy_users(
        "auth.credentials",
        source_url,
        database_url,
        write_credentials,
        batch_size=batch_size,
        stop_after_batches=stop_after_batches,
    )
