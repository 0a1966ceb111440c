"""Builds the notifications service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from messaging_kit.erasure import USER_DELETED
from messaging_kit.export_routes import export_router
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.service import Consumes, Service

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
    # Only `user.erased` goes out so far; the outbox table was there from the first migration.
    service = Service(SERVICE, settings, EVENTS)
    db = service.db
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
    emails = {
        **email_handlers(db, settings, mailer, templates, presence),
        USER_DELETED: handle_user_deleted,
    }
    return service.app(
        routers=[export_router(SERVICE, user_export), preferences.router, push_targets.router],
        consumers={
            "emails": Consumes(
                settings.email_queue, emails, skips=email_skips(presence), tuning=retry
            ),
            "pushes": Consumes(
                settings.push_queue,
                push_handlers(db, settings, client),
                skips=push_skips(db),
                tuning=retry,
            ),
        },
        workers={"digests": DigestWorker(db, settings, mailer, templates, presence)},
        # SMTP is not checked: mail waits in the queue while it is down, the API still works.
        readiness={"redis": redis_client.ping},
        closes=[redis_client.close, client.close],
        state={"mailer": mailer, "templates": templates, "redis": redis_client},
        description="Email (welcome, invitation, digest) and signed push webhooks.",
    )
