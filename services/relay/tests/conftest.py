"""Relay test fixtures: real auth (tokens, JWKS) and relay servers on loopback, real Redis and
RabbitMQ, a private exchange, queue and Redis key prefix per test."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest
import redis
from auth_service.core.config import Settings as AuthSettings
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app as create_auth_app
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    LiveServer,
    fresh_database,
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
    auth_url: str
    url: str
    settings: Settings
    redis: redis.Redis
    app: Any

    def user(self) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            f"{self.auth_url}/api/v1/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": "correct horse"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return User(id=body["user"]["id"], token=body["tokens"]["access_token"])

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
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    prefix = f"test-relay-{run_id}:"
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    client = redis.Redis.from_url(redis_url)
    with fresh_database("auth") as auth_db:
        upgrade_head("auth_service", auth_db)
        auth_settings = AuthSettings(
            database_url=auth_db,
            redis_url=redis_url,
            amqp_url=amqp_url,
            signing_keys_dir=str(keys),
            events_exchange=exchange,
            redis_key_prefix=f"{prefix}auth",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        )
        with LiveServer(create_auth_app(auth_settings)) as auth:
            settings = Settings(
                redis_url=redis_url,
                amqp_url=amqp_url,
                jwks_url=f"{auth.url}/.well-known/jwks.json",
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
                    yield Stack(
                        auth_url=auth.url, url=server.url, settings=settings, redis=client, app=app
                    )
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
