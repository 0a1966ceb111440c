"""Media test fixtures: a real media server (uvicorn on loopback) on a fresh database, its own
MinIO bucket, exchange and queue; tokens signed by a test issuer whose JWKS is served over
real HTTP, as auth's would be."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pika
import pytest
from fastapi import FastAPI
from media_service.core.config import Settings
from media_service.core.storage import ObjectStore
from media_service.main import create_app
from messaging_kit.events.broker import dead_letter_queue_name
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import HINT, LiveServer, fresh_database, require_rabbitmq
from messaging_testing.tokens import TokenIssuer, jwks_server

S3_ENDPOINT = os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000")
S3_ACCESS_KEY = os.environ.get("MP_S3_ACCESS_KEY", "platform")
S3_SECRET_KEY = os.environ.get("MP_S3_SECRET_KEY", "platform-secret")
MAX_UPLOAD = 8 * 1024 * 1024  # above one 5 MiB part, so the multipart path is exercised


@pytest.fixture(scope="session")
def issuer() -> Iterator[tuple[TokenIssuer, str]]:
    issuer = TokenIssuer()
    with jwks_server(issuer) as jwks_url:
        yield issuer, jwks_url


def require_minio() -> None:
    try:
        httpx.get(f"{S3_ENDPOINT}/minio/health/live", timeout=3).raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(f"MinIO at {S3_ENDPOINT} is not answering ({error}); {HINT}")


@dataclass
class Media:
    url: str
    settings: Settings
    store: ObjectStore
    issuer: TokenIssuer
    app: FastAPI

    def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        return self.issuer.headers(user_id)

    def publish(
        self, event_type: str, data: dict[str, Any], occurred_at: datetime | None = None
    ) -> None:
        """Publish an event as another service's relay would."""
        body = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "source": "test",
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            "data": data,
        }
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(self.settings.events_exchange, event_type, json.dumps(body).encode())
        connection.close()

    def stored_keys(self) -> list[str]:
        return sorted(obj.key for obj in self.store.list(""))


def delete_bucket(store: ObjectStore) -> None:
    for obj in store.list(""):
        store.remove(obj.key)
    store.client.remove_bucket(store.bucket)


def delete_queues(settings: Settings) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = connection.channel()
    for queue in (settings.events_queue, settings.memberships_queue):
        channel.queue_delete(queue)
        channel.queue_delete(dead_letter_queue_name(queue))
    channel.exchange_delete(settings.events_exchange)
    connection.close()


@pytest.fixture
def make_settings(issuer: tuple[TokenIssuer, str]) -> Iterator[Callable[..., Settings]]:
    amqp_url = require_rabbitmq()
    require_minio()
    run_id = uuid.uuid4().hex[:12]
    with fresh_database("media") as database_url:
        upgrade_head("media_service", database_url)

        def build(**overrides: Any) -> Settings:
            values: dict[str, Any] = {
                "database_url": database_url,
                "amqp_url": amqp_url,
                "jwks_url": issuer[1],
                "events_exchange": f"test.events.{run_id}",
                "events_queue": f"test.media.{run_id}",
                "memberships_queue": f"test.media.members.{run_id}",
                "s3_endpoint_url": S3_ENDPOINT,
                "s3_access_key": S3_ACCESS_KEY,
                "s3_secret_key": S3_SECRET_KEY,
                "s3_bucket": f"tmedia-{run_id}",
                "max_upload_bytes": MAX_UPLOAD,
                "max_image_pixels": 4_000_000,
                "thumbnail_size": 64,
                **overrides,
            }
            return Settings(**values)

        yield build


@pytest.fixture
def make_media(
    make_settings: Callable[..., Settings], issuer: tuple[TokenIssuer, str]
) -> Iterator[Callable[..., Media]]:
    """Start a media server with these setting overrides (stopped and cleaned up after)."""
    with ExitStack() as stack:

        def build(**overrides: Any) -> Media:
            settings = make_settings(**overrides)
            app = create_app(settings)
            stack.callback(delete_queues, settings)
            stack.callback(delete_bucket, app.state.store)
            server = stack.enter_context(LiveServer(app))
            return Media(server.url, settings, app.state.store, issuer[0], app)

        yield build


@pytest.fixture
def media(make_media: Callable[..., Media]) -> Media:
    return make_media()


def png_bytes(width: int = 200, height: int = 100) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def bomb_png_bytes(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels: a few KiB that would decode to side^2 pixels
    (400 Mpx at the default), i.e. a decompression bomb. Made fast: one block of 100 rows
    is compressed once with a full flush (no back-references), then repeated."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    assert side % 100 == 0
    rows = (b"\x00" + bytes((side + 7) // 8)) * 100  # filter byte + one bit per pixel
    compressor = zlib.compressobj(9)
    first = compressor.compress(rows) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(rows) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(side // 100):
        checksum = zlib.adler32(rows, checksum)
    final = b"\x03\x00"  # an empty final block with fixed codes
    idat = first + again * (side // 100 - 1) + final + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture
def make_bomb() -> Callable[..., bytes]:
    return bomb_png_bytes


@pytest.fixture
def drop_queues() -> Callable[[Settings], None]:
    """Delete a settings' queues and exchange (for tests that start a server by hand)."""
    return delete_queues
