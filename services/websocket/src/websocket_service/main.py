"""Builds the websocket service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from fastapi import FastAPI
from messaging_kit.erasure_consumer import BrokerErasureConsumer
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.redis_durability import durable_redis_check
from messaging_kit.service import Service

from websocket_service import SERVICE
from websocket_service.api.routes import ws
from websocket_service.core.config import Settings, get_settings
from websocket_service.erasure import erase_user
from websocket_service.hub import Hub
from websocket_service.ingest import EventIngest, StreamWriter
from websocket_service.keys import RedisKeys


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = RedisKeys(settings.redis_key_prefix)
    sync_redis = redis_client_for(settings.redis_url, socket_timeout=5)
    ingest = EventIngest(
        StreamWriter(sync_redis, keys, settings),
        settings.amqp_url,
        settings.events_exchange,
        settings,
    )
    erasure = BrokerErasureConsumer(
        SERVICE,
        lambda request: erase_user(sync_redis, keys, request.user),
        settings.amqp_url,
        settings.events_exchange,
        settings.erasure_queue,
        retry_errors=(redis.RedisError,),
    )
    hub = Hub(aioredis.Redis.from_url(settings.redis_url, socket_timeout=None), keys, settings)
    app = Service(SERVICE, settings).app(
        routers=[ws.router],
        # The hub first: on shutdown, stop taking events, then drain clients (told to reconnect).
        workers={"hub": hub, "ingest": ingest, "erasure": erasure},
        # Streams and de-duplication keys live only in Redis: it must keep them.
        readiness={
            "redis": durable_redis_check(sync_redis, require_aof=settings.redis_require_aof)
        },
        closes=[sync_redis.close],
        description="Live delivery over WebSocket with resume, presence and typing.",
    )
    hub.verifier = app.state.verifier
    hub.blocks = app.state.blocks
    return app
