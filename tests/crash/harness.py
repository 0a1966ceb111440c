"""The crash suite's parts: services as real processes, a sender with correct retries, a
receiver on the websocket that resumes from its cursor, and the ledger that compares what was
acknowledged with what is stored and what was seen.

Everything that gets killed is private to the run: PostgreSQL and Redis come from
messaging_testing.private_stores (own ports and data folders), the services are our own child
processes. Only RabbitMQ is the shared broker, never killed, with an exchange and queues of
the run's own.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

BIN = Path(sys.executable).parent
REPORT: list[str] = []  # crash tables, printed by tests/crash/conftest.py in pytest's summary


class Service:
    """messaging-<name> serve on a fixed loopback port, in its own process group."""

    def __init__(self, name: str, env: dict[str, str], port: int, workdir: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env}
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [str(BIN / f"messaging-{self.name}"), "serve"],
                env=self.env,
                stdout=handle,
                stderr=handle,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 60, path: str = "/health") -> None:
        deadline = time.monotonic() + timeout
        answer = ""
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"{self.url}{path}", timeout=3)
                if response.status_code == 200:
                    return
                answer = response.text
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}{path} not 200 within {timeout}s: {answer} {self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight requests die with it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def message_body(sender: str, recipient: str, key: str) -> dict[str, Any]:
    return {
        "recipient_id": recipient,
        "idempotency_key": key,
        "ciphertext": base64.b64encode(os.urandom(32)).decode(),
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "keys": {
            recipient: base64.b64encode(b"wrapped-for-recipient").decode(),
            sender: base64.b64encode(b"wrapped-for-sender").decode(),
        },
    }


class Sender(threading.Thread):
    """Sends at `rate` per second, one at a time; a send that fails (connection refused or
    dropped, timeout, 5xx) is retried with the same idempotency key until it is acknowledged."""

    def __init__(self, url: str, headers: dict[str, str], sender: str, recipient: str, rate: float):
        super().__init__(daemon=True, name="crash-sender")
        self.url, self.headers = f"{url}/api/v1/messages", headers
        self.sender, self.recipient = sender, recipient
        self.interval = 1 / rate
        self.acked: dict[str, float] = {}  # message id -> when acknowledged (monotonic)
        self.first_tried: dict[str, float] = {}  # message id -> when its first attempt began
        self.retries = 0
        self.refused: list[str] = []  # 4xx other than the retryable ones: a bug
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(3.0, connect=1.0)) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                self.send_one(client, uuid.uuid4().hex)
                self.stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def send_one(self, client: httpx.Client, key: str) -> None:
        body = message_body(self.sender, self.recipient, key)
        began = time.monotonic()
        while True:
            try:
                response = client.post(self.url, json=body, headers=self.headers)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code in (200, 201):
                message_id = response.json()["id"]
                self.acked[message_id] = time.monotonic()
                self.first_tried[message_id] = began
                return
            if response is not None and response.status_code < 500:
                self.refused.append(f"{response.status_code} {response.text[:200]}")
                return
            self.retries += 1
            time.sleep(0.1)


class Receiver(threading.Thread):
    """A websocket client that reconnects by itself and resumes from the last cursor it saw."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True, name="crash-receiver")
        self.url, self.token = url, token
        self.seen: list[str] = []  # message ids of message.created, in arrival order
        self.seqs: list[int] = []  # their seq (the conversation's order), in arrival order
        self.seen_at: dict[str, float] = {}
        self.cursor: str | None = None
        self.connected = threading.Event()
        self.reconnects = 0
        self.gaps = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            # The websocket restarting, or Redis gone under it: reconnect with the cursor.
            with contextlib.suppress(
                ConnectionClosed, InvalidHandshake, OSError, TimeoutError, ValueError
            ):
                self.session()
            self.connected.clear()
            if not self.stopping.is_set():
                self.reconnects += 1
                time.sleep(0.2)

    def session(self) -> None:
        with connect(self.url, open_timeout=3, close_timeout=1) as ws:
            auth: dict[str, Any] = {"type": "auth", "token": self.token}
            if self.cursor:
                auth["cursor"] = self.cursor
            ws.send(json.dumps(auth))
            ready = json.loads(ws.recv(timeout=5))
            if ready.get("type") != "ready":
                raise ValueError(f"not ready: {ready}")
            self.cursor = self.cursor or ready.get("cursor")
            self.connected.set()
            last_ping = time.monotonic()
            while not self.stopping.is_set():
                if time.monotonic() - last_ping > 5:
                    ws.send(json.dumps({"type": "ping"}))
                    last_ping = time.monotonic()
                try:
                    frame = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if frame.get("type") == "gap":
                    self.gaps += 1
                if frame.get("type") != "event":
                    continue
                event = frame["event"]
                if event["type"] == "message.created":
                    message_id = event["data"]["message_id"]
                    self.seen.append(message_id)
                    self.seqs.append(int(event["data"]["seq"]))
                    self.seen_at.setdefault(message_id, time.monotonic())
                self.cursor = frame["cursor"]


@dataclass
class Row:
    """One line of the crash table."""

    target: str
    acknowledged: int = 0
    stored: int = 0
    seen: int = 0
    streamed: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_seconds: float | None = None
    notes: list[str] = field(default_factory=list)


def out_of_order(seqs: list[int]) -> int:
    """Arrivals whose seq is not above the one before: one sender sends one at a time, so
    every message must come after the previous one, live or replayed on resume."""
    return sum(1 for before, after in itertools.pairwise(seqs) if after <= before)


def recovery_seconds(sender: Sender, receiver: Receiver, killed_at: float) -> float | None:
    """Until a message first sent after the kill was both acknowledged and seen live (one
    already in flight may still be answered just after the kill: it says nothing of recovery)."""
    after = [
        (t, m)
        for m, t in sender.acked.items()
        if sender.first_tried[m] > killed_at and m in receiver.seen_at
    ]
    if not after:
        return None
    acked_at, message_id = min(after)
    return max(acked_at, receiver.seen_at[message_id]) - killed_at


def compare(
    target: str,
    acked: set[str],
    stored: list[str],
    seen: list[str],
    streamed: list[str],
    recovery: float | None,
) -> Row:
    """lost: acknowledged messages missing from the database, the receiver or its stream;
    duplicated: extra copies in any of the three."""
    row = Row(target, len(acked), len(set(stored) & acked), len(set(seen) & acked))
    row.streamed = len(set(streamed) & acked)
    copies = (stored, seen, streamed)
    present = [set(c) for c in copies]
    row.lost = sum(1 for m in acked if any(m not in p for p in present))
    row.duplicated = sum(len(c) - len(set(c)) for c in copies)
    row.recovery_seconds = recovery
    return row


def total_row(
    sender: Sender, receiver: Receiver, stored: list[str], streamed: list[str]
) -> tuple[Row, int]:
    """The table's `all` row, with the run's retries, reconnects, gaps and disorder noted;
    (row, arrivals out of order)."""
    total = compare("all", set(sender.acked), stored, list(receiver.seen), streamed, None)
    disorder = out_of_order(receiver.seqs)
    total.notes.append(
        f"{sender.retries} retried sends, {receiver.reconnects} reconnects, "
        f"{receiver.gaps} gaps, {disorder} out of order"
    )
    return total, disorder


def table(rows: list[Row], title: str, streamed: bool = True) -> str:
    """The crash table; `streamed=False` leaves out the stream column (not read there)."""
    lines = [
        title,
        f"{'killed':<13} {'acknowledged':>12} {'stored':>7} {'seen':>6} "
        + (f"{'streamed':>8} " if streamed else "")
        + f"{'lost':>5} {'duplicated':>10} {'recovery s':>10}",
    ]
    for r in rows:
        recovery = "-" if r.recovery_seconds is None else f"{r.recovery_seconds:.1f}"
        lines.append(
            f"{r.target:<13} {r.acknowledged:>12} {r.stored:>7} {r.seen:>6} "
            + (f"{r.streamed:>8} " if streamed else "")
            + f"{r.lost:>5} {r.duplicated:>10} {recovery:>10}"
            + (f"  ({'; '.join(r.notes)})" if r.notes else "")
        )
    return "\n".join(lines)
