"""Builds the media service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.app import create_app as create_service_app
from messaging_kit.body_limit import allow_larger_bodies
from messaging_kit.db import Database
from messaging_kit.erasure import USER_DELETED
from messaging_kit.events.broker import connect
from messaging_kit.events.consumer import EventConsumer
from messaging_kit.events.relay import OutboxRelay
from messaging_kit.export_routes import export_router
from messaging_kit.tokens import JwksKeys, TokenVerifier

from media_service import SERVICE
from media_service.api.routes import internal, media
from media_service.core.config import Settings, get_settings
from media_service.core.storage import PART_SIZE, ObjectStore
from media_service.core.upload import FRAMING_ALLOWANCE
from media_service.erasure import erasure_handler_for
from media_service.export import exporter
from media_service.memberships import membership_handlers, membership_skips
from media_service.models import EVENTS
from media_service.thumbnails import thumbnail_handler


def object_store(settings: Settings) -> ObjectStore:
    return ObjectStore(
        settings.s3_endpoint_url,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_bucket,
        region=settings.s3_region,
        public_endpoint=settings.s3_public_endpoint_url,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database.from_settings(settings)
    store = object_store(settings)
    relay = OutboxRelay(db, EVENTS, settings.amqp_url, settings.events_exchange)
    # Thumbnails are made here, off the request path, from media's own media.uploaded events.
    thumbnails = EventConsumer(
        db,
        EVENTS,
        settings.amqp_url,
        settings.events_exchange,
        settings.events_queue,
        {
            "media.uploaded": thumbnail_handler(
                store, max_pixels=settings.max_image_pixels, size=settings.thumbnail_size
            )
        },
        prefetch=2,  # each message decodes an image: take few at a time
    )
    # Conversation and group members, from the services that own them; and erasure, which
    # also takes people out of those member lists.
    members = EventConsumer(
        db,
        EVENTS,
        settings.amqp_url,
        settings.events_exchange,
        settings.memberships_queue,
        {**membership_handlers(), USER_DELETED: erasure_handler_for(store)},
        skips=membership_skips(db),
    )
    app = create_service_app(
        SERVICE,
        settings.service_version,
        routers=[
            export_router(SERVICE, exporter(store, settings.presign_seconds)),
            media.router,
            internal.router,
        ],
        readiness={
            "database": db.ping,
            "broker": lambda: connect(settings.amqp_url).close(),
            "object_store": store.ensure_bucket,
        },
        on_startup=[store.try_ensure_bucket, relay.start, thumbnails.start, members.start],
        on_shutdown=[db.close, relay.stop, thumbnails.stop, members.stop],
        description="Attachments: streamed uploads, presigned downloads, thumbnails.",
    )
    app.state.settings = settings
    # The upload streams up to MAX_UPLOAD_BYTES and checks that itself (upload-too-large),
    # reading up to a part ahead of its check; the kit's limit for that one path is a backstop
    # a part above it (so the upload's own answer comes first), every other route keeps the
    # default.
    upload_limit = settings.max_upload_bytes + PART_SIZE + 2 * FRAMING_ALLOWANCE
    allow_larger_bodies(app, "/api/v1/media/upload", upload_limit)
    app.state.db = db
    app.state.store = store
    app.state.relay = relay
    app.state.thumbnails = thumbnails
    app.state.members = members
    app.state.verifier = TokenVerifier(
        JwksKeys(settings.jwks_url), issuer=settings.token_issuer, audience=settings.token_audience
    )
    return app
