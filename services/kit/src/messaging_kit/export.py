"""`GET /api/v1/<service>/export`: a user's own data as one JSON document per service.

Rows are exported column by column as JSON values (uuids and times as strings, bytes as
base64), so an export shows what is stored, not what some API happens to show. The route of a
database service is in export_routes.py: this module stays importable without SQLAlchemy.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any


def json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def row_data(row: Any, *, without: Iterable[str] = ()) -> dict[str, Any]:
    """An ORM object's columns (all but `without`: secrets, other people's keys)."""
    from sqlalchemy import inspect  # here: relay and websocket export without SQLAlchemy

    skip = set(without)
    return {
        column.key: json_value(getattr(row, column.key))
        for column in inspect(row).mapper.column_attrs
        if column.key not in skip
    }


def export_document(service: str, user_id: uuid.UUID | str, **sections: Any) -> dict[str, Any]:
    return {
        "service": service,
        "user_id": str(user_id),
        "exported_at": datetime.now(UTC).isoformat(),
        **{name: json_value(value) for name, value in sections.items()},
    }
