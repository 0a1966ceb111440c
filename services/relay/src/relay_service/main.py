"""Builds the relay service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.redis_durability import durable_redis_check
from messaging_kit.service import Service

from relay_service import SERVICE
from relay_service.api.routes import relay
from relay_service.consumer import RelayConsumer
from relay_service.core.config import Settings, get_settings
from relay_service.queue import OfflineQueues, RelayKeys


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    client = redis_client_for(settings.redis_url, socket_timeout=5)
    queues = OfflineQueues(
        client,
        RelayKeys(settings.redis_key_prefix),
        settings.entry_ttl_seconds,
        settings.max_pending,
    )
    consumer = RelayConsumer(
        queues, settings.amqp_url, settings.events_exchange, settings.events_queue
    )
    # No database: the offline queues live only in Redis, so it must keep them.
    return Service(SERVICE, settings).app(
        routers=[relay.router],
        workers={"consumer": consumer},
        readiness={"redis": durable_redis_check(client, require_aof=settings.redis_require_aof)},
        closes=[client.close],
        state={"queues": queues},
        description="Offline queue per user: pending, acknowledge, expiry.",
    )
