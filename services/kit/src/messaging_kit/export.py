"""`GET /api/v1/<service>/export`: a user's own data as one JSON document per service.

Rows are exported column by column as JSON values (uuids and times as strings, bytes as
base64), so an export shows what is stored, not what some API happens to show.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from messaging_kit.request_deps import SessionDep, ViewerId


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


def export_router(service: str, build: Callable[[Session, uuid.UUID], dict[str, Any]]) -> APIRouter:
    """`GET /api/v1/<service>/export` for a database service: build(session, caller's id).
    Include it before routes like `/{id}`, which would otherwise take "export" as an id."""
    router = APIRouter(prefix=f"/api/v1/{service}", tags=["export"])

    @router.get("/export", summary=f"Your own data held by {service}, as JSON")
    def export(viewer: ViewerId, session: SessionDep) -> dict[str, Any]:
        return build(session, viewer)

    return router
