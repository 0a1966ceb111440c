"""Builds the relay service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from fastapi import FastAPI
from messaging_kit.app import create_app as create_service_app
from messaging_kit.events.broker import connect
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.redis_durability import durable_redis_check
from messaging_kit.tokens import JwksKeys, TokenVerifier

from relay_service import SERVICE
from relay_service.api.routes import relay
from relay_service.consumer import RelayConsumer
from relay_service.core.config import Settings, get_settings
from relay_service.queue import OfflineQueues, RelayKeys


def broker_check(amqp_url: str) -> None:
    connect(amqp_url).close()


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
    app = create_service_app(
        SERVICE,
        settings.service_version,
        routers=[relay.router],
        readiness={
            # The offline queues live only in Redis: it must keep them.
            "redis": durable_redis_check(client, require_aof=settings.redis_require_aof),
            "broker": lambda: broker_check(settings.amqp_url),
        },
        on_startup=[consumer.start],
        on_shutdown=[client.close, consumer.stop],
        description="Offline queue per user: pending, acknowledge, expiry.",
    )
    app.state.settings = settings
    app.state.queues = queues
    app.state.consumer = consumer
    app.state.verifier = TokenVerifier(
        JwksKeys(settings.jwks_url),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    return app
