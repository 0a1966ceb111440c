"""Builds the messages service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.erasure import USER_DELETED
from messaging_kit.export_routes import export_router
from messaging_kit.service import Consumes, Service

from messages_service import SERVICE, crud
from messages_service.api.routes import messages
from messages_service.core.config import Settings, get_settings
from messages_service.erasure import handle_user_deleted
from messages_service.export import user_export
from messages_service.models import EVENTS


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    handlers = {
        "contact.blocked": crud.apply_block_event,
        "contact.unblocked": crud.apply_block_event,
        USER_DELETED: handle_user_deleted,
    }
    return Service(SERVICE, settings, EVENTS).app(
        routers=[export_router(SERVICE, user_export), messages.router],
        consumers={"consumer": Consumes(settings.events_queue, handlers)},
        description="Direct messages as opaque ciphertext: send, history, receipts, delete.",
    )
