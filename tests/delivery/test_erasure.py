"""Erasure in websocket: a real user.deleted on the exchange closes the user's live connection
(4010), removes their stream, presence, last seen, group-set entries and their messages in
others' streams (every key under the test's prefix read directly in Redis); user.erased comes
back with publisher confirms, again for a retry; the export returns the caller's stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from messaging_testing.erasure import (
    ErasureRig,
    erasure_rig,
    publish_event,
    redis_leftovers,
)
from messaging_testing.infra import (
    LiveServer,
    delete_broker_objects,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from messaging_testing.tokens import TokenIssuer, jwks_server
from websocket_service.core.config import Settings
from websocket_service.keys import RedisKeys
from websocket_service.main import create_app
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.infra


@dataclass
class Websocket:
    url: str
    settings: Settings
    redis: redis.Redis
    keys: RedisKeys
    rig: ErasureRig
    issuer: TokenIssuer

    def message(self, sender: str, recipient: str) -> None:
        data: dict[str, Any] = {
            "message_id": str(uuid.uuid4()),
            "sender_id": sender,
            "recipient_ids": sorted({sender, recipient}),
            "keys": {sender: "Zm9y", recipient: "Zm9y"},
        }
        body = {
            "id": str(uuid.uuid4()),
            "type": "message.created",
            "source": "test",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        publish_event(self.settings.amqp_url, self.settings.events_exchange, body)

    def stream_length(self, user: str) -> int:
        return int(self.redis.xlen(self.keys.stream(user)))


@pytest.fixture
def websocket() -> Iterator[Websocket]:
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
            replica_id=f"r{run_id}",
            events_queue_prefix=f"test.ws.{run_id}",
            erasure_queue=f"test.ws.erasure.{run_id}",
            redis_key_prefix=f"test-ws-erasure-{run_id}:",
        )
        app = create_app(settings)
        try:
            with LiveServer(app) as server:
                wait_for(app.state.ingest.connected.is_set)
                wait_for(app.state.erasure.connected.is_set)
                yield Websocket(
                    server.url, settings, client, RedisKeys(settings.redis_key_prefix), rig, issuer
                )
        finally:
            queues = (app.state.ingest.queue, settings.erasure_queue)
            delete_broker_objects(amqp_url, queues=(*queues, f"{settings.erasure_queue}.dead"))
            stale = list(client.scan_iter(f"{settings.redis_key_prefix}*"))
            if stale:
                client.delete(*stale)
            client.close()


def close_code(connection: ClientConnection) -> int | None:
    """Read until the server closes; its close code (a 10 s silence fails the test)."""
    try:
        while True:
            connection.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_user_deleted_closes_connections_and_erases_their_redis_state(
    websocket: Websocket,
) -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    websocket.message(a, b)
    websocket.message(b, a)
    websocket.message(b, c)
    wait_for(lambda: (websocket.stream_length(a), websocket.stream_length(b)) == (2, 3))
    group = websocket.keys.group_members(str(uuid.uuid4()))
    websocket.redis.sadd(group, a, b)
    url = websocket.url.replace("http://", "ws://") + "/ws"
    token = websocket.issuer.headers(a)["Authorization"].removeprefix("Bearer ")
    with connect(url, open_timeout=10) as connection:
        connection.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(connection.recv(timeout=10))["type"] == "ready"
        wait_for(lambda: websocket.redis.exists(websocket.keys.presence(a)))
        prefix = websocket.settings.redis_key_prefix
        assert redis_leftovers(websocket.redis, prefix, a)  # the check sees them

        erasure_id = websocket.rig.delete_user(a)
        assert close_code(connection) == 4010
    websocket.rig.confirmed(erasure_id, "websocket")

    # After the close, nothing of A: the closing replica wrote no presence or last seen.
    assert redis_leftovers(websocket.redis, prefix, a) == []
    assert websocket.stream_length(b) == 2  # only A's message to B went
    assert websocket.redis.smembers(group) == {b.encode()}

    websocket.rig.delete_user(a, erasure_id)  # auth's retry
    websocket.rig.confirmed(erasure_id, "websocket", count=2)


def test_export_returns_presence_and_stream(websocket: Websocket) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    websocket.message(b, a)
    wait_for(lambda: websocket.stream_length(a) == 1)
    response = httpx.get(
        f"{websocket.url}/api/v1/websocket/export", headers=websocket.issuer.headers(a)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["online"] is False
    (entry,) = body["stream"]
    assert entry["event"]["data"]["sender_id"] == b
    assert entry["event"]["data"]["wrapped_key"] == "Zm9y"
