"""Messages over HTTP against a real server and database: idempotent send, limits, cursors,
receipts, deletes, participants-only reads, blocks, and events through the outbox."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any

import httpx
import pika
import pytest
from messaging_testing.infra import wait_for

pytestmark = pytest.mark.infra


def test_a_retried_send_is_stored_once(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    body = stack.body(alice, bob, "retry-1")
    first = httpx.post(f"{stack.url}/api/v1/messages", json=body, headers=alice.headers)
    again = httpx.post(f"{stack.url}/api/v1/messages", json=body, headers=alice.headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = dict(body, ciphertext=base64.b64encode(b"something else").decode())
    conflict = httpx.post(f"{stack.url}/api/v1/messages", json=other, headers=alice.headers)
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "urn:messaging:problem:idempotency-key-reused"


def test_concurrent_retries_store_one_message(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    body = stack.body(alice, bob, "race")
    results: list[httpx.Response] = []

    def post() -> None:
        results.append(httpx.post(f"{stack.url}/api/v1/messages", json=body, headers=alice.headers))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in results}) == 1


def test_size_limits_answer_413_and_bad_input_422(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    big = stack.send(alice, bob, ciphertext=base64.b64encode(b"x" * 2000).decode())
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert big.json()["limit"] == 1024
    huge = httpx.post(
        f"{stack.url}/api/v1/messages",
        content=b"{" + b" " * 300_000 + b"}",
        headers={**alice.headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert stack.send(alice, bob, ciphertext="not base64!").status_code == 422
    assert stack.send(alice, bob, keys={alice.id: "a2V5"}).status_code == 422
    assert stack.send(alice, alice).status_code == 422


def test_history_pages_with_cursors_both_ways(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    sent = [stack.send(alice if i % 2 else bob, bob if i % 2 else alice).json() for i in range(7)]
    conversation = sent[0]["conversation_id"]
    url = f"{stack.url}/api/v1/conversations/{conversation}/messages"
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"before": cursor} if cursor else {})}
        page = httpx.get(url, params=params, headers=alice.headers).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in reversed(sent)]
    caught_up = httpx.get(
        url, params={"after": str(sent[2]["seq"]), "limit": 50}, headers=bob.headers
    ).json()
    assert [m["id"] for m in caught_up["items"]] == [m["id"] for m in sent[3:]]
    # Each reader gets the key wrapped for them, never the other's.
    mine = httpx.get(url, headers=bob.headers).json()["items"][0]
    assert base64.b64decode(mine["wrapped_key"]) == (
        b"wrapped-for-recipient" if mine["recipient_id"] == bob.id else b"wrapped-for-sender"
    )


def test_concurrent_senders_never_make_a_catching_up_reader_skip(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    first = stack.send(alice, bob).json()
    url = f"{stack.url}/api/v1/conversations/{first['conversation_id']}/messages"
    stop = threading.Event()

    def write(sender, recipient) -> None:  # type: ignore[no-untyped-def]
        for _ in range(25):
            stack.send(sender, recipient)
        stop.set()

    writers = [threading.Thread(target=write, args=pair) for pair in ((alice, bob), (bob, alice))]
    for writer in writers:
        writer.start()
    seen, cursor = [first["seq"]], str(first["seq"])
    while not (stop.is_set() and all(not w.is_alive() for w in writers)):
        page = httpx.get(url, params={"after": cursor, "limit": 5}, headers=bob.headers).json()
        for item in page["items"]:
            seen.append(item["seq"])
            cursor = str(item["seq"])
    page = httpx.get(url, params={"after": cursor, "limit": 200}, headers=bob.headers).json()
    seen += [item["seq"] for item in page["items"]]
    everything = httpx.get(url, params={"after": "0", "limit": 200}, headers=bob.headers).json()
    assert seen == [item["seq"] for item in everything["items"]]
    assert len(seen) == 51


def test_only_participants_read(stack: Any) -> None:
    alice, bob, eve = stack.user(), stack.user(), stack.user()
    message = stack.send(alice, bob).json()
    url = f"{stack.url}/api/v1/conversations/{message['conversation_id']}/messages"
    assert httpx.get(url, headers=eve.headers).status_code == 404
    assert (
        httpx.get(f"{stack.url}/api/v1/messages/{message['id']}", headers=eve.headers).status_code
        == 404
    )
    assert httpx.get(url).status_code == 401
    convs = httpx.get(f"{stack.url}/api/v1/conversations", headers=bob.headers).json()
    assert [c["peer_id"] for c in convs["items"]] == [alice.id]
    assert httpx.get(f"{stack.url}/api/v1/conversations", headers=eve.headers).json()["items"] == []


def test_receipts_and_deletes(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    message = stack.send(alice, bob).json()
    url = f"{stack.url}/api/v1/messages/{message['id']}"
    assert httpx.post(f"{url}/read", headers=alice.headers).status_code == 403
    read = httpx.post(f"{url}/read", headers=bob.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert httpx.delete(url, params={"scope": "everyone"}, headers=bob.headers).status_code == 403
    assert httpx.delete(url, params={"scope": "me"}, headers=bob.headers).status_code == 204
    history = f"{stack.url}/api/v1/conversations/{message['conversation_id']}/messages"
    assert httpx.get(history, headers=bob.headers).json()["items"] == []
    assert len(httpx.get(history, headers=alice.headers).json()["items"]) == 1
    assert httpx.delete(url, params={"scope": "everyone"}, headers=alice.headers).status_code == 204
    gone = httpx.get(url, headers=alice.headers).json()
    assert gone["deleted"] is True
    assert gone["ciphertext"] is None


def publish(stack: Any, routing_key: str, data: dict[str, str]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    body = {
        "id": str(uuid.uuid4()),
        "type": routing_key,
        "source": "users",
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "data": data,
    }
    channel.basic_publish(stack.settings.events_exchange, routing_key, json.dumps(body).encode())
    connection.close()


def test_a_blocked_sender_cannot_send(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    wait_for(stack.app.state.consumer.connected.is_set)
    publish(stack, "contact.blocked", {"owner_id": bob.id, "contact_id": alice.id})
    wait_for(lambda: stack.send(alice, bob).status_code == 403)
    assert stack.send(bob, alice).status_code == 201  # the block is one way
    publish(stack, "contact.unblocked", {"owner_id": bob.id, "contact_id": alice.id})
    wait_for(lambda: stack.send(alice, bob).status_code == 201)


def test_events_leave_through_the_outbox(stack: Any) -> None:
    alice, bob = stack.user(), stack.user()
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.exchange_declare(stack.settings.events_exchange, "topic", durable=True)
    channel.queue_bind(queue, stack.settings.events_exchange, "message.*")
    message = stack.send(alice, bob).json()
    httpx.post(f"{stack.url}/api/v1/messages/{message['id']}/read", headers=bob.headers)
    httpx.delete(
        f"{stack.url}/api/v1/messages/{message['id']}",
        params={"scope": "everyone"},
        headers=alice.headers,
    )
    events: list[dict] = []

    def got_three() -> bool:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method:
            events.append(json.loads(body))
        return len(events) == 3

    wait_for(got_three)
    connection.close()
    assert [e["type"] for e in events] == ["message.created", "message.read", "message.deleted"]
    created = events[0]["data"]
    assert created["message_id"] == message["id"]
    assert created["recipient_ids"] == sorted([alice.id, bob.id])
    assert created["ciphertext"] == message["ciphertext"]
    assert events[2]["data"]["scope"] == "everyone"
