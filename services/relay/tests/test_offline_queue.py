"""The offline queue against real Redis and RabbitMQ: only offline recipients, once per
message, pending oldest first, acknowledge removes, old entries expire."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from messaging_testing.infra import wait_for

pytestmark = pytest.mark.infra


def created(sender: Any, recipients: list[Any], event_type: str = "message.created") -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "sender_id": sender.id,
        "recipient_ids": [sender.id, *[r.id for r in recipients]],
        "ciphertext": "Y2lwaGVy",
        "nonce": "bm9uY2U=",
        "keys": {r.id: f"key-for-{r.id}" for r in [sender, *recipients]},
    }


def test_only_offline_recipients_get_queued_once_each(stack: Any) -> None:
    alice, bob, carol = stack.user(), stack.user(), stack.user()
    stack.online(carol)
    first = created(alice, [bob, carol])
    stack.publish("message.created", first)
    stack.publish("message.created", first)  # a redelivery: same message id
    second = created(alice, [bob, carol])
    stack.publish("group.message.created", {**second, "group_id": str(uuid.uuid4())})
    items = stack.wait_pending(bob, 2)
    assert [i["message_id"] for i in items] == [first["message_id"], second["message_id"]]
    assert items[0]["event"]["data"]["wrapped_key"] == f"key-for-{bob.id}"
    assert "keys" not in items[0]["event"]["data"]
    assert items[1]["event"]["type"] == "group.message.created"
    assert stack.pending(carol)["total"] == 0  # online: websocket delivers live
    assert stack.pending(alice)["total"] == 0  # the sender is never queued
    status = httpx.get(f"{stack.url}/api/v1/relay/status", headers=carol.headers).json()
    assert status == {"online": True, "pending": 0}


def test_acknowledge_removes_and_is_idempotent(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    messages = [created(alice, [bob]) for _ in range(3)]
    for message in messages:
        stack.publish("message.created", message)
    stack.wait_pending(bob, 3)
    one = messages[0]["message_id"]
    url = f"{stack.url}/api/v1/relay/pending/{one}"
    assert httpx.delete(url, headers=bob.headers).status_code == 204
    assert httpx.delete(url, headers=bob.headers).status_code == 204
    rest = [m["message_id"] for m in messages[1:]]
    acked = httpx.post(
        f"{stack.url}/api/v1/relay/ack", json={"message_ids": rest}, headers=bob.headers
    )
    assert acked.json() == {"removed": 2}
    assert stack.pending(bob)["total"] == 0
    assert httpx.get(f"{stack.url}/api/v1/relay/pending").status_code == 401


def test_deleted_for_everyone_leaves_the_queue(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    message = created(alice, [bob])
    stack.publish("message.created", message)
    stack.wait_pending(bob, 1)
    stack.publish(
        "message.deleted",
        {
            "message_id": message["message_id"],
            "scope": "everyone",
            "recipient_ids": [alice.id, bob.id],
        },
    )
    wait_for(lambda: stack.pending(bob)["total"] == 0)


@pytest.mark.parametrize("stack", [{"entry_ttl_seconds": 2, "max_pending": 3}], indirect=True)
def test_old_entries_expire_and_the_queue_is_bounded(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    messages = [created(alice, [bob]) for _ in range(5)]
    for message in messages:
        stack.publish("message.created", message)
    # Bounded: the oldest two made way for the newest three.
    wait_for(
        lambda: (
            [i["message_id"] for i in stack.pending(bob)["items"]]
            == [m["message_id"] for m in messages[2:]]
        )
    )
    key = f"{stack.settings.redis_key_prefix}relay:queue:{bob.id}"
    assert 0 < stack.redis.ttl(key) <= 2  # an untouched queue goes away with its entries
    time.sleep(2.2)
    assert stack.pending(bob) == {"items": [], "total": 0}
