"""Erasure in relay: a real user.deleted on the exchange removes the user's offline queue and
their messages waiting in others' queues (every key under the test's prefix read directly in
Redis); user.erased comes back with publisher confirms, again for a retry; the export returns
what waits for the caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from messaging_testing.erasure import (
    ErasureRig,
    erasure_rig,
    publish_event,
    redis_leftovers,
)
from messaging_testing.infra import delete_broker_objects, require_rabbitmq, require_redis, wait_for
from messaging_testing.tokens import TokenIssuer, jwks_server
from relay_service.core.config import Settings
from relay_service.main import create_app

pytestmark = pytest.mark.infra


@dataclass
class Relay:
    client: TestClient
    settings: Settings
    redis: redis.Redis
    rig: ErasureRig
    issuer: TokenIssuer

    def message(self, sender: str, *recipients: str, kind: str = "message.created") -> str:
        message_id = str(uuid.uuid4())
        data: dict[str, Any] = {
            "message_id": message_id,
            "sender_id": sender,
            "recipient_ids": sorted({sender, *recipients}),
            "ciphertext": "b3BhcXVl",
            "keys": {user: "Zm9y" for user in (sender, *recipients)},
        }
        body = {
            "id": str(uuid.uuid4()),
            "type": kind,
            "source": "test",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        publish_event(self.settings.amqp_url, self.settings.events_exchange, body)
        return message_id

    def pending(self, user: str) -> int:
        return self.client.app.state.queues.count(user)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def relay() -> Iterator[Relay]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    issuer = TokenIssuer()
    run_id = uuid.uuid4().hex[:8]
    client = redis.Redis.from_url(redis_url)
    with jwks_server(issuer) as jwks_url, erasure_rig(amqp_url) as rig:
        settings = Settings(
            redis_url=redis_url,
            amqp_url=amqp_url,
            jwks_url=jwks_url,
            events_exchange=rig.exchange,
            events_queue=f"test.relay.{run_id}",
            redis_key_prefix=f"test-relay-erasure-{run_id}:",
        )
        try:
            with TestClient(create_app(settings)) as http:
                wait_for(http.app.state.consumer.connected.is_set)  # type: ignore[attr-defined]
                yield Relay(http, settings, client, rig, issuer)
        finally:
            queue = settings.events_queue
            delete_broker_objects(amqp_url, queues=(queue, f"{queue}.dead"))
            stale = list(client.scan_iter(f"{settings.redis_key_prefix}*"))
            if stale:
                client.delete(*stale)
            client.close()


def test_user_deleted_erases_their_queue_and_their_entries_in_others(relay: Relay) -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    relay.message(b, a)
    relay.message(a, b)
    relay.message(a, b, c, kind="group.message.created")
    relay.message(b, c)
    wait_for(lambda: (relay.pending(a), relay.pending(b), relay.pending(c)) == (1, 2, 2))
    prefix = relay.settings.redis_key_prefix
    assert redis_leftovers(relay.redis, prefix, a)  # the check sees them

    erasure_id = relay.rig.delete_user(a)
    relay.rig.confirmed(erasure_id, "relay")

    assert redis_leftovers(relay.redis, prefix, a) == []
    assert (relay.pending(b), relay.pending(c)) == (0, 1)  # only B's message to C waits

    relay.rig.delete_user(a, erasure_id)  # auth's retry
    relay.rig.confirmed(erasure_id, "relay", count=2)


def test_export_returns_what_waits_for_the_caller(relay: Relay) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    message_id = relay.message(b, a)
    wait_for(lambda: relay.pending(a) == 1)
    response = relay.client.get("/api/v1/relay/export", headers=relay.issuer.headers(a))
    assert response.status_code == 200, response.text
    (entry,) = response.json()["pending"]
    assert entry["message_id"] == message_id
    assert entry["event"]["data"]["wrapped_key"] == "Zm9y"
