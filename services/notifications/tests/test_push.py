"""Push webhooks to a real HTTP receiver on loopback: signatures verify with the target's
secret, a failing target is retried without re-pushing the others, a redelivered event
pushes nothing twice, and a target that keeps refusing parks the event with the reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from messaging_testing.infra import LiveServer, wait_for

pytestmark = pytest.mark.infra


@dataclass
class Receiver:
    url: str = ""
    calls: list[tuple[str, dict[str, str], bytes, int]] = field(default_factory=list)
    # name -> status codes to answer first, before answering 204
    script: dict[str, list[int]] = field(default_factory=dict)

    def to(self, name: str, event_id: str | None = None, status: int = 204) -> list[Any]:
        return [
            call
            for call in self.calls
            if call[0] == name
            and call[3] == status
            and (event_id is None or json.loads(call[2])["id"] == event_id)
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = FastAPI()

    @app.post("/hook/{name}")
    async def hook(name: str, request: Request) -> Response:
        pending = receiver.script.get(name, [])
        status = pending.pop(0) if pending else 204
        receiver.calls.append((name, dict(request.headers), await request.body(), status))
        return Response(status_code=status)

    with LiveServer(app) as server:
        receiver.url = server.url
        yield receiver


def register(notifications, user: uuid.UUID, url: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{notifications.url}/api/v1/notifications/push-targets",
        json={"url": url},
        headers=notifications.headers(user),
    )
    assert response.status_code == 201, response.text
    target: dict[str, Any] = response.json()
    return target


def message(helpers, sender: uuid.UUID, recipient: uuid.UUID, event_id: str | None = None):  # type: ignore[no-untyped-def]
    data = {
        "message_id": str(uuid.uuid4()),
        "conversation_id": str(uuid.uuid4()),
        "sender_id": str(sender),
        "recipient_id": str(recipient),
    }
    return helpers.event("message.created", data, event_id)


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does, written from the contract rather than imported from the service."""
    timestamp = headers["x-messaging-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={expected.hexdigest()}", headers["x-messaging-signature"])


def test_pushes_are_signed_retried_and_never_repeated(notifications, receiver, helpers) -> None:  # type: ignore[no-untyped-def]
    user, sender = uuid.uuid4(), uuid.uuid4()
    a = register(notifications, user, f"{receiver.url}/hook/a")
    b = register(notifications, user, f"{receiver.url}/hook/b")
    receiver.script["b"] = [500]  # b fails once, then recovers
    listed = httpx.get(
        f"{notifications.url}/api/v1/notifications/push-targets",
        headers=notifications.headers(user),
    ).json()
    assert [t["secret"] for t in listed] == [None, None]  # shown once, at registration

    first = message(helpers, sender, user)
    notifications.publish(first)
    wait_for(lambda: receiver.to("a", first["id"]) and receiver.to("b", first["id"]))
    for name, target in (("a", a), ("b", b)):
        [(_, headers, body, _)] = receiver.to(name, first["id"])
        assert signature_ok(target["secret"], headers, body)
        assert not signature_ok(target["secret"], headers, body + b" ")
        assert headers["x-messaging-event-id"] == first["id"]
        pushed = json.loads(body)
        assert pushed["user_id"] == str(user)
        assert pushed["data"]["message_id"] == first["data"]["message_id"]
    assert len(receiver.to("b", first["id"], status=500)) == 1
    # The other secret does not verify: each target has its own.
    [(_, headers, body, _)] = receiver.to("a", first["id"])
    assert not signature_ok(b["secret"], headers, body)

    notifications.publish(first)  # redelivered: the same event id
    quiet = uuid.uuid4()  # opted out of pushes: their target hears nothing
    register(notifications, quiet, f"{receiver.url}/hook/quiet")
    opt_out = httpx.patch(
        f"{notifications.url}/api/v1/notifications/preferences",
        json={"push": False},
        headers=notifications.headers(quiet),
    )
    assert opt_out.json()["push"] is False
    notifications.publish(message(helpers, sender, quiet))
    sentinel = message(helpers, sender, user)
    notifications.publish(sentinel)
    wait_for(lambda: receiver.to("a", sentinel["id"]) and receiver.to("b", sentinel["id"]))
    assert len(receiver.to("a", first["id"])) == 1
    assert len(receiver.to("b", first["id"])) == 1
    assert receiver.to("quiet") == []


def test_a_refusing_target_parks_the_event_with_the_reason(
    make_notifications, receiver, helpers
) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(delivery_attempts=2, push_attempts=2)
    user = uuid.uuid4()
    target = register(notifications, user, f"{receiver.url}/hook/gone")
    receiver.script["gone"] = [410, 410]
    notifications.publish(message(helpers, uuid.uuid4(), user))
    properties, _ = helpers.parked(notifications.settings, notifications.settings.push_queue)
    assert properties.headers["x-dead-reason"].startswith("handler failed: PushFailed")
    assert f"target {target['id']}: HTTP 410" in properties.headers["x-dead-reason"]
    assert len(receiver.to("gone", status=410)) == 2  # not retried within a try: 410 is final


def test_push_targets_must_use_https(make_notifications, receiver, helpers) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(push_allow_http=False)
    user = uuid.uuid4()
    refused = httpx.post(
        f"{notifications.url}/api/v1/notifications/push-targets",
        json={"url": f"{receiver.url}/hook/x"},
        headers=notifications.headers(user),
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:messaging:problem:https-required"


def test_a_target_on_a_private_address_is_refused(make_notifications, receiver, helpers) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(push_allow_private=False, delivery_attempts=1)
    user = uuid.uuid4()
    register(notifications, user, f"{receiver.url}/hook/inside")
    notifications.publish(message(helpers, uuid.uuid4(), user))
    properties, _ = helpers.parked(notifications.settings, notifications.settings.push_queue)
    assert "resolves to a non-public address (127.0.0.1)" in properties.headers["x-dead-reason"]
    assert receiver.to("inside") == []
