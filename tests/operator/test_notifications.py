"""Rollout notifications: their shapes and signature (pure), and the Notifier delivering to a
real HTTP receiver on loopback: retried after a failure with the same delivery id, and a dead
webhook holding nobody up."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from messaging_operator import notifications
from messaging_operator.notifications import Notifier, notifications_for, signature

BODY = {
    "metadata": {"namespace": "demo", "name": "chat"},
    "spec": {
        "rollout": {
            "notifications": [
                {"url": "http://127.0.0.1:9/json", "secretRef": {"name": "hook", "key": "k"}},
                {"url": "http://127.0.0.1:9/slack", "format": "slack"},
            ]
        }
    },
}
EVENT = ("relay", "Normal", "StepAdvanced", "relay: canary 1.1.0 at 50%", "2026-12-07T10:00:00Z")


def test_one_notification_per_webhook_in_its_shape():
    signed, slack = notifications_for(BODY, *EVENT)
    assert json.loads(signed.body) == {
        "platform": {"namespace": "demo", "name": "chat"},
        "service": "relay",
        "type": "Normal",
        "reason": "StepAdvanced",
        "message": "relay: canary 1.1.0 at 50%",
        "time": "2026-12-07T10:00:00Z",
    }
    assert signed.secret == ("hook", "k")
    assert json.loads(slack.body)["text"].endswith(
        "demo/chat* StepAdvanced: relay: canary 1.1.0 at 50%"
    )
    assert slack.secret is None
    assert signed.delivery != slack.delivery


def test_the_signature_is_hmac_sha256_of_the_body():
    expected = hmac.new(b"key", b"{}", hashlib.sha256).hexdigest()
    assert signature(b"key", b"{}") == f"sha256={expected}"


class Receiver:
    """A webhook on loopback that answers 500 to the first `fail_first` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.requests) <= receiver.fail_first else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(fail_first=1)
    yield found
    found.server.shutdown()


class SecretsOnly:
    """The one KubeClient call the Notifier makes: reading the HMAC key's Secret."""

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert (kind, namespace, name) == ("Secret", "demo", "hook")
        return {"data": {"k": base64.b64encode(b"hmac-key").decode()}}


def test_a_failed_delivery_is_retried_with_its_id_and_a_dead_webhook_holds_nobody_up(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "FIRST_BACKOFF", 0.05)
    body = {
        **BODY,
        "spec": {
            "rollout": {
                "notifications": [
                    {"url": "http://127.0.0.1:1/dead"},  # nothing listens: refused each time
                    {"url": receiver.url, "secretRef": {"name": "hook", "key": "k"}},
                ]
            }
        },
    }

    async def run() -> None:
        notifier = Notifier(SecretsOnly())  # type: ignore[arg-type]
        notifier.start()
        notifier.send(notifications_for(body, *EVENT))  # returns at once
        for _ in range(100):
            if len(receiver.requests) >= 2:
                break
            await asyncio.sleep(0.05)
        await notifier.stop()

    asyncio.run(run())
    assert len(receiver.requests) == 2  # a 500, then the retry
    (first, _), (second, payload) = receiver.requests
    assert first["x-messaging-delivery"] == second["x-messaging-delivery"]
    assert second["x-messaging-event"] == "StepAdvanced"
    assert second["x-messaging-signature"] == signature(b"hmac-key", payload)
