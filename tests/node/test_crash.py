"""The crash suite (tests/crash) against the platform's own pods (issue 23): under steady
traffic through the gateway (a sender at 20 messages/s with correct retries, a receiver on the
websocket that resumes from its cursor), every store and every service of `make up`'s platform
is crashed in turn: all processes of its container SIGKILLed, so PostgreSQL gets no shutdown
checkpoint, Redis no last write, RabbitMQ no clean close, and the kubelet restarts it in place.

Afterwards what was acknowledged (201) is compared with what is stored (the conversation's
history, read back through the gateway) and what the receiver saw: 0 lost, 0 duplicated. Two
recovery times per crash: until a message sent after it was acknowledged and seen live, and
until the crashed pod was ready again. The table is in pytest's summary. About three minutes.

The host suite (tests/crash) also reads the receiver's Redis stream and runs the stores on the
fast settings to show what they lose; this one runs the operator's managed stores as built.
"""

from __future__ import annotations

import time

import httpx
import pytest
from crash.harness import (
    REPORT,
    Receiver,
    Row,
    Sender,
    compare,
    recovery_seconds,
    table,
    total_row,
)
from e2e.kit import User, conversation_id, register
from testkit.kube import Kubectl, eventually
from testkit.platform import GATEWAY

from node.conftest import kill_container, main_container, ready_pods

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

STORES = ("postgres", "redis", "rabbitmq")
SERVICES = ("auth", "users", "groups", "media", "relay", "notifications", "messages", "websocket")
STEADY_SECONDS = 3.0
RECOVERY_LIMIT = 90.0
RATE = 20.0


def history(reader: User, other: User) -> list[str]:
    """Every message id of the conversation, oldest page last, read through the gateway."""
    ids: list[str] = []
    conversation = conversation_id(reader.id, other.id)
    cursor = None
    while True:
        params = {"limit": 200, **({"before": cursor} if cursor else {})}
        page = reader.get(f"/api/v1/conversations/{conversation}/messages", params=params)
        ids += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def crash(platform: Kubectl, component: str) -> tuple[str, int]:
    """SIGKILL the container of COMPONENT's one ready pod: (the pod, its restarts before)."""
    pods = ready_pods(platform, component)
    assert len(pods) == 1, f"{component}: expected one ready pod, found {pods}"
    return pods[0], kill_container(platform, pods[0])


def back_in_service(platform: Kubectl, component: str, pod: str, restarts: int) -> bool:
    return main_container(platform, pod)["restartCount"] > restarts and pod in ready_pods(
        platform, component
    )


def test_nothing_acknowledged_is_lost_or_duplicated_when_a_pod_crashes(
    platform: Kubectl, gateway: httpx.Client
) -> None:
    alice, bob = register(gateway, "crashalice"), register(gateway, "crashbob")
    receiver = Receiver(GATEWAY.replace("http://", "ws://") + "/ws", bob.access_token)
    sender = Sender(GATEWAY, alice.auth(), str(alice.id), str(bob.id), RATE)
    windows: list[tuple[str, float, float | None, float | None]] = []
    try:
        receiver.start()
        assert receiver.connected.wait(30), "the receiver could not connect through the gateway"
        sender.start()
        for component in STORES + SERVICES:
            start = time.monotonic()
            time.sleep(STEADY_SECONDS)
            pod, restarts = crash(platform, component)
            killed = time.monotonic()
            ready_at = flowing = None
            while time.monotonic() < killed + RECOVERY_LIMIT and None in (ready_at, flowing):
                time.sleep(0.2)
                if flowing is None:
                    flowing = recovery_seconds(sender, receiver, killed)
                if ready_at is None and back_in_service(platform, component, pod, restarts):
                    ready_at = time.monotonic() - killed
            windows.append((component, start, flowing, ready_at))
        time.sleep(STEADY_SECONDS)
        sender.stopping.set()
        sender.join(30)
        acked_all = set(sender.acked)
        eventually(lambda: acked_all <= set(receiver.seen), 30, "every acknowledged message seen")
        time.sleep(1.0)  # a late duplicate would arrive now
    finally:
        sender.stopping.set()
        receiver.stopping.set()
    receiver.join(10)
    stored = history(bob, alice)

    rows: list[Row] = []
    ends = [w[1] for w in windows[1:]] + [float("inf")]
    for (component, start, flowing, ready_at), end in zip(windows, ends, strict=True):
        mine = {m for m, t in sender.acked.items() if start <= t < end}
        row = compare(
            component,
            mine,
            [m for m in stored if m in mine],
            [m for m in receiver.seen if m in mine],
            [m for m in stored if m in mine],  # no stream read here: stored stands in
            flowing,
        )
        row.notes.append("pod ready " + ("never" if ready_at is None else f"{ready_at:.1f} s"))
        rows.append(row)
    total, disorder = total_row(sender, receiver, stored, stored)  # stored stands in for the stream
    rows.append(total)
    report = table(rows, f"crash table, the platform's pods ({RATE:.0f} msg/s)", streamed=False)
    REPORT.append(report)
    print(report)

    assert not sender.refused, sender.refused
    assert total.acknowledged > 200, report
    assert (total.lost, total.duplicated) == (0, 0), report
    assert disorder == 0, report
    assert set(stored) == acked_all, report  # nothing stored that was not acknowledged
    assert all(r.recovery_seconds is not None for r in rows[:-1]), report
    assert all("never" not in r.notes[0] for r in rows[:-1]), report
