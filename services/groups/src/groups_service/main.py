"""Builds the groups service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.erasure import USER_DELETED
from messaging_kit.export_routes import export_router
from messaging_kit.service import Consumes, Service

from groups_service import SERVICE
from groups_service.api.routes import groups, invitations
from groups_service.core.config import Settings, get_settings
from groups_service.erasure import handle_user_deleted
from groups_service.export import user_export
from groups_service.models import EVENTS


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return Service(SERVICE, settings, EVENTS).app(
        routers=[export_router(SERVICE, user_export), invitations.router, groups.router],
        # Only erasure so far: groups learns nothing else from other services.
        consumers={
            "consumer": Consumes(settings.events_queue, {USER_DELETED: handle_user_deleted})
        },
        description="Groups with roles, membership and group messages (opaque ciphertext).",
    )
