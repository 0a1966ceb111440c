"""Crash suite (issue 23): under steady traffic (a sender at 20 messages/s with correct retries,
a receiver on the websocket), kill each store and each service in turn, then compare what was
acknowledged (201) with what is stored (messages' PostgreSQL, and the receiver's websocket
stream in Redis, which a resume replays) and what the receiver saw:
0 lost, 0 duplicated, recovery time reported (pytest's summary prints the table).

PostgreSQL, Redis and RabbitMQ are private to the run (hack/infra.sh on their own ports and
data folders, its default durable settings; CRASH_FAST_STORES=1 uses the fast test settings
instead, to show what they lose), so killing them disturbs no one. PostgreSQL is stopped
immediately (no checkpoint, as a crash); Redis, RabbitMQ, messages and websocket get SIGKILL.
About two minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
from crash.harness import (
    REPORT,
    Receiver,
    Row,
    Sender,
    Service,
    compare,
    recovery_seconds,
    table,
    total_row,
)
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import free_port
from messaging_testing.private_stores import PrivateStores
from messaging_testing.tokens import TokenIssuer, jwks_server

pytestmark = [pytest.mark.infra, pytest.mark.timeout(300)]

TARGETS = ("postgres", "redis", "rabbitmq", "messages", "websocket")
STEADY_SECONDS = 3.0  # traffic between kills
RECOVERY_LIMIT = 45.0
RATE = 20.0


def fast_stores() -> bool:
    return os.environ.get("CRASH_FAST_STORES") == "1"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[PrivateStores]:
    stores = PrivateStores(tmp_path / "stores", fast=fast_stores())
    try:
        stores.up("postgres", "redis", "rabbitmq")
        yield stores
    finally:
        stores.down()


def create_database(stores: PrivateStores, name: str) -> str:
    admin = psycopg2.connect(stores.pg_url, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return stores.pg_url.rsplit("/", 1)[0] + f"/{name}"


def stored_ids(database_url: str, sender: str) -> list[str]:
    connection = psycopg2.connect(database_url, connect_timeout=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text FROM messages WHERE sender_id = %s", (sender,))
        rows = [r[0] for r in cursor.fetchall()]
    connection.close()
    return rows


def streamed_ids(redis_url: str, stream: str) -> list[str]:
    """message.created ids in the receiver's websocket stream (what a resume would replay)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    entries = client.xrange(stream)
    client.close()
    frames = [json.loads(fields[b"e"]) for _, fields in entries]
    return [f["data"]["message_id"] for f in frames if f["type"] == "message.created"]


def test_nothing_acknowledged_is_lost_or_duplicated_when_a_store_or_service_crashes(
    stores: PrivateStores, tmp_path: Path
) -> None:
    amqp_url = stores.amqp_url
    run = uuid.uuid4().hex[:8]
    exchange = f"crash.events.{run}"
    replica = f"crash{run}"
    queues = (
        f"crash.messages.{run}",
        f"crash.messages.{run}.dead",
        f"crash.ws.{run}.{replica}",
        f"crash.ws-erasure.{run}",
        f"crash.ws-erasure.{run}.dead",
    )
    database = create_database(stores, "messages")
    upgrade_head("messages_service", database)

    issuer = TokenIssuer()
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    services: dict[str, Service] = {}
    sender: Sender | None = None
    receiver: Receiver | None = None
    try:
        with jwks_server(issuer) as jwks_url:
            common = {
                "AMQP_URL": amqp_url,
                "EVENTS_EXCHANGE": exchange,
                "JWKS_URL": jwks_url,
                "REVOCATIONS_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
            }
            services["messages"] = Service(
                "messages",
                {**common, "DATABASE_URL": database, "EVENTS_QUEUE": queues[0]},
                free_port(),
                tmp_path,
            )
            services["websocket"] = Service(
                "websocket",
                {
                    **common,
                    "REDIS_URL": stores.redis_url,
                    "REDIS_KEY_PREFIX": f"crash{run}:",
                    "REPLICA_ID": replica,
                    "EVENTS_QUEUE_PREFIX": f"crash.ws.{run}",
                    "ERASURE_QUEUE": queues[3],
                    "QUEUE_EXPIRES_SECONDS": "600",
                    # On the fast stores it would not be ready: what they lose is what is shown.
                    "REDIS_REQUIRE_AOF": "false" if fast_stores() else "true",
                },
                free_port(),
                tmp_path,
            )
            for service in services.values():
                service.start()
            for service in services.values():
                service.wait_healthy()
            # Ready, i.e. its checks pass: the database, the broker, and a Redis that keeps an
            # append-only file (messaging_kit.redis_durability).
            services["websocket"].wait_healthy(path="/ready")

            token = issuer.headers(bob)["Authorization"].split()[1]
            receiver = Receiver(f"ws://127.0.0.1:{services['websocket'].port}/ws", token)
            receiver.start()
            assert receiver.connected.wait(30), services["websocket"].tail()
            sender = Sender(services["messages"].url, issuer.headers(alice), alice, bob, RATE)
            sender.start()

            windows: list[tuple[str, float, float, float | None]] = []
            for target in TARGETS:
                start = time.monotonic()
                time.sleep(STEADY_SECONDS)
                if target in services:
                    services[target].kill()
                    killed = time.monotonic()
                    services[target].start()
                else:
                    stores.kill(target)
                    killed = time.monotonic()
                    stores.up(target)
                deadline = killed + RECOVERY_LIMIT
                recovery = None
                while recovery is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                    recovery = recovery_seconds(sender, receiver, killed)
                windows.append((target, start, killed, recovery))
            time.sleep(STEADY_SECONDS)
            sender.stopping.set()
            sender.join(30)

            acked_all = set(sender.acked)
            deadline = time.monotonic() + 30
            while not acked_all <= set(receiver.seen) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # a late duplicate would arrive now
            receiver.stopping.set()
            receiver.join(10)
            stored = stored_ids(database, alice)
            streamed = streamed_ids(stores.redis_url, f"crash{run}:ws:stream:{bob}")

        rows: list[Row] = []
        ends = [w[1] for w in windows[1:]] + [float("inf")]
        for (target, start, _, recovery), end in zip(windows, ends, strict=True):
            acked = {m for m, t in sender.acked.items() if start <= t < end}
            mine = set(acked)
            rows.append(
                compare(
                    target,
                    acked,
                    [m for m in stored if m in mine],
                    [m for m in receiver.seen if m in mine],
                    [m for m in streamed if m in mine],
                    recovery,
                )
            )
        total, disorder = total_row(sender, receiver, stored, streamed)
        rows.append(total)
        settings = "fast test" if fast_stores() else "durable"
        report = table(rows, f"crash table ({settings} store settings, {RATE:.0f} messages/s)")
        REPORT.append(report)
        (tmp_path / "crash-table.txt").write_text(report + "\n")

        assert not sender.refused, sender.refused
        assert total.acknowledged > 100, report
        assert (total.lost, total.duplicated) == (0, 0), report
        assert disorder == 0, report  # resumes replay the gap in order
        assert all(r.recovery_seconds is not None for r in rows[:-1]), report
        assert set(stored) == acked_all, report  # nothing stored that was not acknowledged
    finally:
        if sender is not None:
            sender.stopping.set()
        if receiver is not None:
            receiver.stopping.set()
        for service in services.values():
            service.stop()
