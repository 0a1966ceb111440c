"""Rollout notifications from the real operator: a relay canary walks 10 -> 100 % while one
webhook is dead (nothing listens) and another, on loopback, first fails; the walk is not held
up, and the live one receives every walk Event, signed with the Secret's key."""

from __future__ import annotations

import base64
import json

import pytest
from messaging_operator.notifications import signature

from tests.operator.cluster.test_canary import _platform_with_canary, _walk
from tests.operator.test_notifications import Receiver

pytestmark = pytest.mark.cluster

KEY = b"webhook-hmac-key"


def test_every_walk_event_reaches_the_webhook_signed_and_a_dead_one_holds_nothing_up(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    receiver = Receiver(fail_first=1)
    try:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "rollout-hook", "namespace": ns},
            "data": {"hmac": base64.b64encode(KEY).decode()},
        }
        kube.run("apply", "-f", "-", stdin=json.dumps(secret))
        hooks = [
            {"url": "http://127.0.0.1:1/dead"},
            {"url": receiver.url, "secretRef": {"name": "rollout-hook", "key": "hmac"}},
        ]
        _platform_with_canary(
            kube,
            ns,
            minimal_sample,
            {"version": "1.1.0", "steps": [10, 100], "interval": "3s", "keepWarm": "0s"},
        )
        kube.run(
            "patch", "mp", "chat", "-n", ns, "--type=merge",
            "-p", json.dumps({"spec": {"rollout": {"notifications": hooks}}}),
        )  # fmt: skip
        kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 60, "promoted")

        def reasons() -> list[str]:
            return [
                json.loads(body)["reason"]
                for headers, body in receiver.requests
                if headers["x-messaging-signature"] == signature(KEY, body)
            ]

        kube.wait_for(lambda: "Promoted" in reasons(), 30, "the Promoted notification")
    finally:
        receiver.server.shutdown()
    signed = reasons()
    assert {"StepAdvanced", "Promoted"} <= set(signed), signed
    assert len(signed) == len(receiver.requests), "every request was correctly signed"
    deliveries = [headers["x-messaging-delivery"] for headers, _ in receiver.requests]
    assert len(deliveries) == len(set(deliveries)) + 1  # the first one failed and came again
    event = json.loads(receiver.requests[-1][1])
    assert event["platform"] == {"namespace": ns, "name": "chat"}
    assert event["service"] == "relay"
    assert event["message"].startswith("relay: ")
