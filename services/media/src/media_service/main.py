"""Builds the media service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.body_limit import allow_larger_bodies
from messaging_kit.erasure import USER_DELETED
from messaging_kit.export_routes import export_router
from messaging_kit.service import Consumes, Service

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
    service = Service(SERVICE, settings, EVENTS)
    store = object_store(settings)
    thumbnail = thumbnail_handler(
        store, max_pixels=settings.max_image_pixels, size=settings.thumbnail_size
    )
    app = service.app(
        routers=[
            export_router(SERVICE, exporter(store, settings.presign_seconds)),
            media.router,
            internal.router,
        ],
        consumers={
            # Thumbnails are made here, off the request path, from media's own media.uploaded
            # events; each decodes an image: take few at a time.
            "thumbnails": Consumes(
                settings.events_queue, {"media.uploaded": thumbnail}, tuning={"prefetch": 2}
            ),
            # Conversation and group members, from the services that own them; and erasure,
            # which also takes people out of those member lists.
            "members": Consumes(
                settings.memberships_queue,
                {**membership_handlers(), USER_DELETED: erasure_handler_for(store)},
                skips=membership_skips(service.db),
            ),
        },
        readiness={"object_store": store.ensure_bucket},
        on_startup=[store.try_ensure_bucket],
        state={"store": store},
        description="Attachments: streamed uploads, presigned downloads, thumbnails.",
    )
    # The upload streams up to MAX_UPLOAD_BYTES and checks that itself (upload-too-large),
    # reading up to a part ahead of its check; the kit's limit for that one path is a backstop
    # a part above it (so the upload's own answer comes first), every other route keeps the
    # default.
    upload_limit = settings.max_upload_bytes + PART_SIZE + 2 * FRAMING_ALLOWANCE
    allow_larger_bodies(app, "/api/v1/media/upload", upload_limit)
    return app
