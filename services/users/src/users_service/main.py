"""Builds the users service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.erasure import USER_DELETED
from messaging_kit.export_routes import export_router
from messaging_kit.service import Consumes, Service

from users_service import SERVICE, crud
from users_service.api.routes import contacts, devices, internal, invitations, users
from users_service.core.config import Settings, get_settings
from users_service.erasure import handle_user_deleted
from users_service.export import user_export
from users_service.models import EVENTS


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    handlers = {
        "user.registered": crud.create_profile_from_event,
        USER_DELETED: handle_user_deleted,
    }
    return Service(SERVICE, settings, EVENTS).app(
        routers=[
            export_router(SERVICE, user_export),
            devices.router,
            users.router,
            contacts.router,
            invitations.router,
            internal.router,
        ],
        consumers={"consumer": Consumes(settings.events_queue, handlers)},
        description="Profiles, search, contacts and invitations.",
    )
