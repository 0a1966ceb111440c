"""`GET /api/v1/<service>/export` for a database service (the document: export.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from messaging_kit.request_deps import SessionDep, ViewerId


def export_router(service: str, build: Callable[[Session, uuid.UUID], dict[str, Any]]) -> APIRouter:
    """`GET /api/v1/<service>/export` for a database service: build(session, caller's id).
    Include it before routes like `/{id}`, which would otherwise take "export" as an id."""
    router = APIRouter(prefix=f"/api/v1/{service}", tags=["export"])

    @router.get("/export", summary=f"Your own data held by {service}, as JSON")
    def export(viewer: ViewerId, session: SessionDep) -> dict[str, Any]:
        return build(session, viewer)

    return router
