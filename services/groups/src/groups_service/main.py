"""Builds the groups service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.app import create_app as create_service_app
from messaging_kit.db import Database
from messaging_kit.erasure import USER_DELETED
from messaging_kit.events.broker import connect
from messaging_kit.events.consumer import EventConsumer
from messaging_kit.events.relay import OutboxRelay
from messaging_kit.export_routes import export_router
from messaging_kit.tokens import JwksKeys, TokenVerifier

from groups_service import SERVICE
from groups_service.api.routes import groups, invitations
from groups_service.core.config import Settings, get_settings
from groups_service.erasure import handle_user_deleted
from groups_service.export import user_export
from groups_service.models import EVENTS


def broker_check(amqp_url: str) -> None:
    connect(amqp_url).close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database.from_settings(settings)
    relay = OutboxRelay(db, EVENTS, settings.amqp_url, settings.events_exchange)
    # Only erasure so far: groups learns nothing else from other services.
    consumer = EventConsumer(
        db,
        EVENTS,
        settings.amqp_url,
        settings.events_exchange,
        settings.events_queue,
        {USER_DELETED: handle_user_deleted},
    )
    app = create_service_app(
        SERVICE,
        settings.service_version,
        routers=[export_router(SERVICE, user_export), invitations.router, groups.router],
        readiness={"database": db.ping, "broker": lambda: broker_check(settings.amqp_url)},
        on_startup=[relay.start, consumer.start],
        on_shutdown=[db.close, relay.stop, consumer.stop],
        description="Groups with roles, membership and group messages (opaque ciphertext).",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.relay = relay
    app.state.consumer = consumer
    app.state.verifier = TokenVerifier(
        JwksKeys(settings.jwks_url),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    return app
