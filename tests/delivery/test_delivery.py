"""Live delivery across two replicas, every device, resume without gaps or repeats."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from messaging_testing.infra import wait_for
from websockets.sync.client import connect

pytestmark = pytest.mark.infra


def test_two_users_on_different_replicas_chat_on_every_device(platform: Any) -> None:
    alice, bob = platform.user(), platform.user()
    alice_phone = platform.client(alice, replica=0)
    alice_laptop = platform.client(alice, replica=1)
    bob_phone = platform.client(bob, replica=1)
    sent = [platform.send(alice, bob) for _ in range(5)] + [platform.send(bob, alice)]
    for device in (alice_phone, alice_laptop, bob_phone):
        events = device.wait_events(6)
        assert [e["data"]["message_id"] for e in events] == [m["id"] for m in sent]
    event = bob_phone.of_type("message.created")[0]["data"]
    # Each user gets only the key wrapped for them, and no one else's.
    assert base64.b64decode(event["wrapped_key"]) == b"for-" + bob.id.encode()
    assert "keys" not in event
    assert event["ciphertext"] == sent[0]["ciphertext"]
    # Receipts reach the sender's devices.
    httpx.post(f"{platform.messages_url}/api/v1/messages/{sent[0]['id']}/read", headers=bob.headers)
    for device in (alice_phone, alice_laptop):
        read = device.wait_events(1, "message.read")
        assert read[0]["data"]["message_id"] == sent[0]["id"]


def test_the_token_goes_in_the_first_frame_and_bad_ones_are_refused(platform: Any) -> None:
    with connect(platform.ws_urls[0]) as connection:
        connection.send(json.dumps({"type": "auth", "token": "nope"}))
        with pytest.raises(Exception, match="4001"):
            connection.recv(timeout=5)
    with connect(platform.ws_urls[0]) as connection:
        connection.send(json.dumps({"type": "hello"}))
        with pytest.raises(Exception, match="4001"):
            connection.recv(timeout=5)


def test_resume_after_missing_200_gets_all_in_order_then_live(platform: Any) -> None:
    alice, bob = platform.user(), platform.user()
    bob_first = platform.client(bob, replica=0)
    first = platform.send(alice, bob)
    bob_first.wait_events(1)
    cursor = bob_first.cursor
    bob_first.close()
    missed = [platform.send(alice, bob)["id"] for _ in range(200)]
    bob_back = platform.client(bob, replica=1, cursor=cursor)
    events = bob_back.wait_events(200)
    assert [e["data"]["message_id"] for e in events] == missed
    live = platform.send(alice, bob)
    events = bob_back.wait_events(201)
    assert events[-1]["data"]["message_id"] == live["id"]
    ids = [e["data"]["message_id"] for e in events]
    assert len(ids) == len(set(ids))
    assert first["id"] not in ids


def test_a_retried_send_and_a_replayed_event_arrive_once(platform: Any) -> None:
    alice, bob = platform.user(), platform.user()
    bob_phone = platform.client(bob, replica=0)
    body = platform.body(alice, bob)
    first = platform.send(alice, bob, body)
    again = platform.send(alice, bob, body)
    assert first["id"] == again["id"]
    sentinel = platform.send(alice, bob)
    events = bob_phone.wait_events(2)
    assert [e["data"]["message_id"] for e in events] == [first["id"], sentinel["id"]]
    time.sleep(0.3)
    assert len(bob_phone.of_type("message.created")) == 2


@pytest.mark.parametrize("platform", [{"heartbeat_seconds": 1.0}], indirect=True)
def test_presence_typing_and_heartbeat(platform: Any) -> None:
    alice, bob = platform.user(), platform.user()
    alice_phone = platform.client(alice, replica=0)
    bob_phone = platform.client(bob, replica=1)
    http = platform.ws_urls[0][:-3].replace("ws", "http", 1)

    # Without users to ask (no presence_audience_url) each sees only their own presence:
    # tests/security/test_presence.py covers contacts and the setting.
    def own_presence(person: Any) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(
            f"{http}/api/v1/presence",
            params={"user_id": [person.id, alice.id if person is bob else bob.id]},
            headers=person.headers,
        ).json()
        return answer

    seen_by_alice, seen_by_bob = own_presence(alice), own_presence(bob)
    assert seen_by_alice[alice.id]["online"]
    assert seen_by_bob[bob.id]["online"]
    assert seen_by_alice[bob.id] == {"online": False, "last_seen": None}
    alice_phone.send({"type": "typing", "to": bob.id})
    wait_for(lambda: any(f["type"] == "typing" for f in bob_phone.frames), timeout=5)
    typing = next(f for f in bob_phone.frames if f["type"] == "typing")
    assert typing["from"] == alice.id
    alice_phone.send({"type": "ping"})
    wait_for(lambda: any(f["type"] == "pong" for f in alice_phone.frames), timeout=5)
    # Silence for twice the heartbeat closes the connection; presence then expires.
    bob_phone.close()
    wait_for(alice_phone.closed.is_set, timeout=15)
    assert alice_phone.close_code == 4004
    gone = httpx.get(
        f"{http}/api/v1/presence", params={"user_id": [alice.id]}, headers=alice.headers
    ).json()
    assert gone[alice.id]["online"] is False
    assert gone[alice.id]["last_seen"] is not None
