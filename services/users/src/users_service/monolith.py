"""Users' half of `migrate-from-monolith`: profiles from the legacy users table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from messaging_kit.monolith import ImportReport, import_legacy_users
from sqlalchemy import Connection, Row
from sqlalchemy.dialects.postgresql import insert

from users_service.models import Profile


def first_public_key(public_keys: Any) -> str | None:
    """The monolith kept a JSON list (or object) of keys; profiles carry one key."""
    if isinstance(public_keys, list) and public_keys:
        first = public_keys[0]
        return first if isinstance(first, str) else json.dumps(first)
    if isinstance(public_keys, dict) and public_keys:
        return json.dumps(public_keys)
    return None


def write_profiles(connection: Connection, rows: Sequence[Row[Any]]) -> int:
    statement = (
        insert(Profile)
        .values(
            [
                {
                    "user_id": row.id,
                    "username": row.username,
                    "display_name": (row.full_name or row.username)[:100],
                    "email": row.email.strip().lower(),
                    "status_text": (row.bio or "")[:200],
                    "public_key": first_public_key(row.public_keys),
                }
                for row in rows
            ]
        )
        .on_conflict_do_nothing()
        .returning(Profile.user_id)
    )
    return len(connection.execute(statement).all())


def import_profiles(
    source_url: str,
    database_url: str,
    *,
    batch_size: int = 1000,
    stop_after_batches: int | None = None,
) -> ImportReport:
    return import_legacy_users(
        "users.profiles",
        source_url,
        database_url,
        write_profiles,
        batch_size=batch_size,
        stop_after_batches=stop_after_batches,
    )
