"""What websocket acknowledged to RabbitMQ survives a Redis crash: its stream entries and the
de-duplication keys that keep a redelivered event from reaching a client twice. Against a real,
private Redis started by hack/infra.sh with its default settings, then killed (SIGKILL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from messaging_kit.events.envelope import new_event
from messaging_testing.private_stores import PrivateStores
from websocket_service.core.config import Settings
from websocket_service.ingest import StreamWriter
from websocket_service.keys import RedisKeys


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[PrivateStores]:
    stores = PrivateStores(tmp_path / "cache")
    try:
        stores.up("redis")
        yield stores
    finally:
        stores.down()


def test_a_redelivered_event_is_still_deduplicated_after_redis_is_killed(
    stores: PrivateStores,
) -> None:
    settings = Settings(
        redis_url=stores.redis_url,
        jwks_url="http://127.0.0.1:1/jwks",
        amqp_url="amqp://x@127.0.0.1:1/",
    )
    keys = RedisKeys("dur:")
    event = new_event(
        "message.created",
        "messages",
        {"message_id": "m1", "sender_id": "a", "recipient_ids": ["a", "b"], "seq": 1},
    )
    client = redis.Redis.from_url(stores.redis_url, socket_timeout=5)
    assert StreamWriter(client, keys, settings).write(event) == 2
    client.close()

    stores.kill("redis")  # right after the write was acknowledged: no snapshot was taken
    stores.up("redis")

    client = redis.Redis.from_url(stores.redis_url, socket_timeout=5)
    # RabbitMQ redelivers the event (its ack was lost with the crash, say): appended once only.
    assert StreamWriter(client, keys, settings).write(event) == 0
    assert [client.xlen(keys.stream(user)) for user in ("a", "b")] == [1, 1]
    client.close()
