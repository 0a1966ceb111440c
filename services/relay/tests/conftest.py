"""Relay test fixtures: auth's stand-in (messaging_testing.auth: tokens, JWKS) and relay servers
on loopback, real Redis and RabbitMQ, a private exchange, queue and Redis key prefix per test."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pika
import pytest
import redis
from messaging_testing.auth import AuthStandIn, auth_stand_in
from messaging_testing.infra import (
    LiveServer,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from relay_service.core.config import Settings
from relay_service.main import create_app


@dataclass
class User:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Stack:
    auth: AuthStandIn
    url: str
    settings: Settings
    redis: redis.Redis
    app: Any

    def user(self) -> User:
        registered = self.auth.register()
        return User(id=registered.id, token=registered.token)

    def publish(self, event_type: str, data: dict[str, Any]) -> str:
        event_id = str(uuid.uuid4())
        body = {
            "id": event_id,
            "type": event_type,
            "source": "test",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "data": data,
        }
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(self.settings.events_exchange, event_type, json.dumps(body).encode())
        connection.close()
        return event_id

    def online(self, user: User, seconds: float = 30) -> None:
        """What websocket writes for a live connection (the presence contract)."""
        key = f"{self.settings.redis_key_prefix}presence:{user.id}"
        self.redis.zadd(key, {"conn-test": time.time() + seconds})

    def pending(self, user: User) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/relay/pending", headers=user.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait_pending(self, user: User, count: int) -> list[dict[str, Any]]:
        wait_for(lambda: self.pending(user)["total"] >= count)
        items: list[dict[str, Any]] = self.pending(user)["items"]
        return items


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    prefix = f"test-relay-{run_id}:"
    client = redis.Redis.from_url(redis_url)
    with auth_stand_in(amqp_url, exchange) as auth:
        settings = Settings(
            redis_url=redis_url,
            amqp_url=amqp_url,
            jwks_url=auth.jwks_url,
            events_exchange=exchange,
            events_queue=f"test.relay.{run_id}",
            redis_key_prefix=prefix,
            # The shared test Redis may run the fast settings (no append-only file).
            redis_require_aof=False,
            **getattr(request, "param", {}),
        )
        app = create_app(settings)
        try:
            with LiveServer(app) as server:
                wait_for(app.state.consumer.connected.is_set)
                yield Stack(auth=auth, url=server.url, settings=settings, redis=client, app=app)
        finally:
            connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
            channel = connection.channel()
            channel.queue_delete(settings.events_queue)
            channel.queue_delete(f"{settings.events_queue}.dead")
            channel.exchange_delete(exchange)
            connection.close()
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)
            client.close()
