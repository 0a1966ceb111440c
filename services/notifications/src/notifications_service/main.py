"""Builds the notifications service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from messaging_kit.app import create_app as create_service_app
from messaging_kit.db import Database
from messaging_kit.erasure import USER_DELETED
from messaging_kit.events.broker import connect
from messaging_kit.events.consumer import EventConsumer
from messaging_kit.events.relay import OutboxRelay
from messaging_kit.export_routes import export_router
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.tokens import JwksKeys, TokenVerifier

from notifications_service import SERVICE
from notifications_service.api.routes import preferences, push_targets
from notifications_service.core.config import Settings, get_settings
from notifications_service.core.emails import SmtpMailer, Templates
from notifications_service.core.presence import PresenceReader
from notifications_service.digest import DigestWorker
from notifications_service.erasure import handle_user_deleted
from notifications_service.export import user_export
from notifications_service.handlers import email_handlers, email_skips
from notifications_service.models import EVENTS
from notifications_service.push import push_handlers, push_skips


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database.from_settings(settings)
    mailer, templates = SmtpMailer(settings), Templates()
    redis_client = redis_client_for(settings.redis_url)
    presence = PresenceReader(redis_client, settings.redis_key_prefix)
    # No redirects: a push goes to the registered URL and nowhere else.
    client = httpx.Client(timeout=settings.push_timeout_seconds, follow_redirects=False)
    retry = {
        "attempts": settings.delivery_attempts,
        "first_backoff_seconds": settings.first_backoff_seconds,
        "max_backoff_seconds": settings.max_backoff_seconds,
    }
    emails = EventConsumer(
        db,
        EVENTS,
        settings.amqp_url,
        settings.events_exchange,
        settings.email_queue,
        {
            **email_handlers(db, settings, mailer, templates, presence),
            USER_DELETED: handle_user_deleted,
        },
        skips=email_skips(presence),
        **retry,
    )
    pushes = EventConsumer(
        db,
        EVENTS,
        settings.amqp_url,
        settings.events_exchange,
        settings.push_queue,
        push_handlers(db, settings, client),
        skips=push_skips(db),
        **retry,
    )
    # Only `user.erased` goes out so far; the outbox table was there from the first migration.
    relay = OutboxRelay(db, EVENTS, settings.amqp_url, settings.events_exchange)
    digests = DigestWorker(db, settings, mailer, templates, presence)
    app = create_service_app(
        SERVICE,
        settings.service_version,
        routers=[export_router(SERVICE, user_export), preferences.router, push_targets.router],
        # SMTP is not checked: mail waits in the queue while it is down, the API still works.
        readiness={
            "database": db.ping,
            "broker": lambda: connect(settings.amqp_url).close(),
            "redis": redis_client.ping,
        },
        on_startup=[relay.start, emails.start, pushes.start, digests.start],
        on_shutdown=[
            db.close,
            redis_client.close,
            client.close,
            relay.stop,
            emails.stop,
            pushes.stop,
            digests.stop,
        ],
        description="Email (welcome, invitation, digest) and signed push webhooks.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.relay = relay
    app.state.emails = emails
    app.state.pushes = pushes
    app.state.digests = digests
    app.state.mailer = mailer
    app.state.templates = templates
    app.state.redis = redis_client
    app.state.verifier = TokenVerifier(
        JwksKeys(settings.jwks_url), issuer=settings.token_issuer, audience=settings.token_audience
    )
    return app
