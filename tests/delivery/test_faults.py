"""Faults while messages flow: a websocket replica killed with SIGKILL, RabbitMQ restarted,
PostgreSQL restarted. Every recipient device must see every message exactly once, in order.

Devices here behave as clients should: on a dropped connection they reconnect (to the other
replica) with the last cursor they processed; a sender retries a failed send with the same
idempotency key. Duplicates are counted as raw frames, before any client-side filtering.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from messaging_testing.infra import free_port, wait_for
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

pytestmark = pytest.mark.infra
REPO = Path(__file__).resolve().parents[2]


class Device:
    """A client that survives server faults by resuming from its cursor elsewhere."""

    def __init__(self, urls: list[str], user: Any, first: int = 0) -> None:
        self.urls, self.user = urls, user
        self.index = first
        self.cursor: str | None = None
        self.raw_ids: list[str] = []  # every message event frame as it arrived
        self.reconnects = 0
        self.ready = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(15), "device did not connect"

    def run(self) -> None:
        while not self._stop.is_set():
            url = self.urls[self.index % len(self.urls)]
            try:
                with connect(url, open_timeout=5, max_size=2**22) as connection:
                    auth = {"type": "auth", "token": self.user.token}
                    if self.cursor:
                        auth["cursor"] = self.cursor
                    connection.send(json.dumps(auth))
                    ready = json.loads(connection.recv(timeout=5))
                    self.cursor = ready["cursor"]
                    self.ready.set()
                    last_ping = time.monotonic()
                    while not self._stop.is_set():
                        if time.monotonic() - last_ping > 1:
                            connection.send('{"type":"ping"}')
                            last_ping = time.monotonic()
                        try:
                            frame = json.loads(connection.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        if frame["type"] == "event":
                            if frame["event"]["type"] == "message.created":
                                self.raw_ids.append(frame["event"]["data"]["message_id"])
                            self.cursor = frame["cursor"]
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                pass
            if not self._stop.is_set():
                self.reconnects += 1
                self.index += 1  # try the other replica
                time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)


def send_all(platform: Any, sender: Any, recipient: Any, count: int, out: list[str]) -> None:
    """Send one at a time; a failed send is retried with the same idempotency key."""
    with httpx.Client(timeout=10) as client:
        for _ in range(count):
            body = platform.body(sender, recipient)
            deadline = time.monotonic() + 120
            while True:
                try:
                    response = client.post(
                        f"{platform.messages_url}/api/v1/messages",
                        json=body,
                        headers=sender.headers,
                    )
                    if response.status_code in (200, 201):
                        out.append(response.json()["id"])
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "send kept failing"
                time.sleep(0.2)


def check_exactly_once(device: Any, expected: list[str], timeout: float = 120) -> None:
    wait_for(lambda: len(device.raw_ids) >= len(expected), timeout=timeout, interval=0.2)
    time.sleep(0.5)  # anything extra (a duplicate) would show up now
    assert len(device.raw_ids) == len(set(device.raw_ids)), "a message arrived twice"
    assert device.raw_ids == expected


def spawn_replica(context: dict[str, Any], replica: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "REDIS_URL": context["redis_url"],
        "AMQP_URL": context["amqp_url"],
        "JWKS_URL": f"{context['auth_url']}/.well-known/jwks.json",
        "EVENTS_EXCHANGE": context["exchange"],
        "REDIS_KEY_PREFIX": context["prefix"],
        "REPLICA_ID": replica,
        "EVENTS_QUEUE_PREFIX": f"test.ws.{context['run_id']}",
        "QUEUE_EXPIRES_SECONDS": "600",
        "LOG_LEVEL": "WARNING",
        # The shared test Redis may run the fast settings (no append-only file): ready anyway.
        "REDIS_REQUIRE_AOF": "false",
    }
    context["queues"].append(f"test.ws.{context['run_id']}.{replica}")
    process = subprocess.Popen(
        [sys.executable, "-m", "websocket_service"], env=env, stdout=subprocess.DEVNULL
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=30)
    return process


def test_a_replica_killed_while_1000_messages_flow(base: dict[str, Any], platform: Any) -> None:
    """Two replicas as processes; one gets SIGKILL a third of the way through."""
    ports = [free_port(), free_port()]
    processes = [spawn_replica(base, f"p{i}", port) for i, port in enumerate(ports)]
    urls = [f"ws://127.0.0.1:{port}/ws" for port in ports]
    devices: list[Device] = []
    try:
        alice, bob, carol, dave = (platform.user() for _ in range(4))
        devices = [
            alice_phone := Device(urls, alice, 0),
            bob_phone := Device(urls, bob, 0),
            bob_laptop := Device(urls, bob, 1),
            carol_phone := Device(urls, carol, 1),
            dave_phone := Device(urls, dave, 0),
        ]
        sent_ab: list[str] = []
        sent_cd: list[str] = []
        senders = [
            threading.Thread(target=send_all, args=(platform, alice, bob, 500, sent_ab)),
            threading.Thread(target=send_all, args=(platform, carol, dave, 500, sent_cd)),
        ]
        for sender in senders:
            sender.start()
        wait_for(lambda: len(sent_ab) + len(sent_cd) >= 330, timeout=120, interval=0.01)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(10)
        for sender in senders:
            sender.join(240)
        assert len(sent_ab) == 500
        assert len(sent_cd) == 500
        for device in (alice_phone, bob_phone, bob_laptop):
            check_exactly_once(device, sent_ab)
        for device in (carol_phone, dave_phone):
            check_exactly_once(device, sent_cd)
        # The devices on the killed replica really did move.
        assert alice_phone.reconnects >= 1
        assert dave_phone.reconnects >= 1
    finally:
        for device in devices:
            device.stop()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(20)


def infra(action: str, service: str) -> None:
    subprocess.run(
        [str(REPO / "hack" / "infra.sh"), action, service],
        check=True,
        timeout=180,
        capture_output=True,
    )


def restart(service: str) -> None:
    try:
        infra("down", service)
    finally:
        infra("up", service)  # at once: other suites share this server


def test_rabbitmq_and_postgresql_restarted_mid_stream(platform: Any) -> None:
    alice, bob = platform.user(), platform.user()
    devices = [Device(platform.ws_urls, bob, 0), Device(platform.ws_urls, bob, 1)]
    sent: list[str] = []
    sender = threading.Thread(target=send_all, args=(platform, alice, bob, 240, sent))
    try:
        sender.start()
        wait_for(lambda: len(sent) >= 60, timeout=60, interval=0.01)
        restart("rabbitmq")
        wait_for(lambda: len(sent) >= 140, timeout=120, interval=0.01)
        restart("postgres")
        sender.join(240)
        assert len(sent) == 240
        for device in devices:
            check_exactly_once(device, sent)
    finally:
        for device in devices:
            device.stop()


def drain(connection: Any) -> None:
    while True:
        connection.recv(timeout=10)


def test_sigterm_drains_clients_with_a_reconnect_code(base: dict[str, Any], platform: Any) -> None:
    port = free_port()
    process = spawn_replica(base, "drain", port)
    try:
        user = platform.user()
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as connection:
            connection.send(json.dumps({"type": "auth", "token": user.token}))
            assert json.loads(connection.recv(timeout=5))["type"] == "ready"
            process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                drain(connection)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012  # service restart: reconnect elsewhere
        # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status says so.
        assert process.wait(30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
