"""What one `message.created` costs its consumers: CPU microseconds per event, for notifications
and media (issue #19), on the real infrastructure (`make infra-up`).

Starts notifications and media as real processes (from --source: this checkout by default, or
a `git worktree` of an older commit to measure "before" in the same session) on fresh databases
and a private exchange, publishes --events `message.created` at --rate per second the way
messages' outbox relay does (persistent JSON envelope, routing key = type, publisher confirms),
and reads each process' CPU time (/proc/PID/stat utime + stime, all threads) around the run.
The idle rate, measured first for as long, is taken off: what is left is the events' cost.

Scenarios: `online` (both ends connected: websocket's presence in Redis, as in a live chat) and
`offline` (nobody connected: every message becomes a digest item). No one has push targets.

    git worktree add /tmp/before <commit>     # "before", run from the same script
    uv run --frozen python tests/bench/consumer_cost.py [--source /tmp/before] [--events 2000]
    uv run --frozen python tests/bench/consumer_cost.py --profile notifications

--profile: py-spy --gil (only the thread holding the GIL: where CPU goes) on that service
during the runs, collapsed stacks kept in a temporary folder it names; the CPU figures of a
profiled run are inflated by the sampling.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import redis
from common import REPO, Child, cpu_seconds, free_port, say, wait_until
from services_bench import BIN, create_database, database_url, drop_databases, infra

SERVICES = ("notifications", "media")
QUEUES = {
    "notifications": ("notifications.email", "notifications.push"),
    "media": ("media.thumbnails", "media.memberships"),
}


def source_path(source: Path) -> str:
    """PYTHONPATH that makes the services and the kit import from `source` (ahead of the
    workspace's editable installs)."""
    return os.pathsep.join(str(source / "services" / name / "src") for name in ("kit", *SERVICES))


class Run:
    def __init__(self, source: Path, workdir: Path) -> None:
        self.source = source
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:8]
        self.exchange = f"bench.cost.{self.run_id}"
        self.prefix = f"bench-cost-{self.run_id}:"
        self.databases: list[str] = []
        self.children: dict[str, Child] = {}
        self.queues = {
            service: [f"bench.{self.run_id}.{queue}" for queue in QUEUES[service]]
            for service in SERVICES
        }

    def env(self, service: str) -> dict[str, str]:
        name = create_database(f"bench_cost_{service}_{self.run_id}")
        self.databases.append(name)
        common = {
            **os.environ,
            "PYTHONPATH": source_path(self.source),
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "LOG_LEVEL": "INFO",
            "DATABASE_URL": database_url(name),
            "AMQP_URL": infra("MP_AMQP_URL"),
            "EVENTS_EXCHANGE": self.exchange,
            "JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
            # Fed by user.* events only, and auth is not here: not what is measured.
            "REVOCATIONS_ENABLED": "false",
        }
        queues = self.queues[service]
        if service == "notifications":
            return {
                **common,
                "REDIS_URL": infra("MP_REDIS_URL"),
                "REDIS_KEY_PREFIX": self.prefix,
                "SMTP_HOST": os.environ.get("MP_SMTP_HOST", "127.0.0.1"),
                "SMTP_PORT": os.environ.get("MP_SMTP_PORT", "11025"),
                "EMAIL_QUEUE": queues[0],
                "PUSH_QUEUE": queues[1],
            }
        return {
            **common,
            "S3_ENDPOINT_URL": os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000"),
            "S3_ACCESS_KEY": os.environ.get("MP_S3_ACCESS_KEY", "platform"),
            "S3_SECRET_KEY": os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
            "S3_BUCKET": "bench-cost",
            "EVENTS_QUEUE": queues[0],
            "MEMBERSHIPS_QUEUE": queues[1],
        }

    def up(self) -> None:
        for service in SERVICES:
            env = self.env(service)
            command = str(BIN / f"messaging-{service}")
            subprocess.run([command, "migrate"], env=env, check=True, capture_output=True)
            log = self.workdir / f"{service}.log"
            self.children[service] = Child(service, [command, "serve"], env, log)
        for service, child in self.children.items():
            wait_until(lambda child=child: self.consuming(child), 90, f"{service} consuming")
        # The source asked for is the one running (not the workspace's editable install).
        for child in self.children.values():
            assert str(self.source) in Path(f"/proc/{child.pid}/environ").read_text()

    def consuming(self, child: Child) -> bool:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited: {child.tail()}")
        counts = self.depths(self.queues[child.name], consumers=True)
        return all(count > 0 for count in counts.values())

    def depths(self, queues: list[str], consumers: bool = False) -> dict[str, int]:
        connection = pika.BlockingConnection(pika.URLParameters(infra("MP_AMQP_URL")))
        found = {}
        for queue in queues:
            channel = connection.channel()
            try:
                method = channel.queue_declare(queue, passive=True).method
                found[queue] = method.consumer_count if consumers else method.message_count
            except pika.exceptions.ChannelClosedByBroker:
                found[queue] = 0 if consumers else -1
        connection.close()
        return found

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(child.pid) for name, child in self.children.items()}

    def down(self) -> None:

        for child in self.children.values():
            child.stop()
        connection = pika.BlockingConnection(pika.URLParameters(infra("MP_AMQP_URL")))
        channel = connection.channel()
        for queues in self.queues.values():
            for queue in queues:
                channel.queue_delete(queue)
                channel.queue_delete(f"{queue}.dead")
        channel.exchange_delete(self.exchange)
        connection.close()
        client = redis.Redis.from_url(infra("MP_REDIS_URL"))
        for key in client.scan_iter(f"{self.prefix}*", count=1000):
            client.delete(key)
        client.close()
        drop_databases(self.databases)


def b64(size: int) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def message_created(sender: str, recipient: str, seq: int) -> dict[str, Any]:
    """An event as messages' relay sends it (crud.message_event_data in an envelope)."""
    low, high = sorted((sender, recipient))
    conversation = uuid.uuid5(uuid.UUID("6f1c2b1e-3a55-4d0e-9c43-5a8e2d7f0b11"), f"{low}:{high}")
    return {
        "id": str(uuid.uuid4()),
        "type": "message.created",
        "source": "messages",
        "occurred_at": datetime.now(UTC).isoformat(),
        "request_id": uuid.uuid4().hex,
        "data": {
            "message_id": str(uuid.uuid4()),
            "conversation_id": str(conversation),
            "seq": seq,
            "sender_id": sender,
            "recipient_id": recipient,
            "recipient_ids": [low, high],
            "ciphertext": b64(120),
            "nonce": b64(12),
            "keys": {sender: b64(180), recipient: b64(180)},
            "created_at": datetime.now(UTC).isoformat(),
        },
    }


def publish(run: Run, users: list[str], count: int, rate: float, first: bool = False) -> float:
    """`count` events at `rate` per second over 50 conversations (`first`: each conversation
    in turn before any again); returns the seconds taken."""
    pairs = [(users[2 * n], users[2 * n + 1]) for n in range(len(users) // 2)]
    connection = pika.BlockingConnection(pika.URLParameters(infra("MP_AMQP_URL")))
    channel = connection.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(
        content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent
    )
    start = time.monotonic()
    for n in range(count):
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        sender, recipient = pairs[n % len(pairs)] if first else random.choice(pairs)
        if n % 2:
            sender, recipient = recipient, sender
        body = json.dumps(message_created(sender, recipient, n)).encode()
        channel.basic_publish(run.exchange, "message.created", body, properties)
    connection.close()
    return time.monotonic() - start


def drained(run: Run) -> bool:
    queues = [queue for service in SERVICES for queue in run.queues[service]]
    return all(depth == 0 for depth in run.depths(queues).values())


def set_presence(run: Run, users: list[str], online: bool) -> None:
    client = redis.Redis.from_url(infra("MP_REDIS_URL"))
    for user in users:
        key = f"{run.prefix}presence:{user}"
        if online:
            client.zadd(key, {"bench-conn": time.time() + 3600})
        else:
            client.delete(key)
        client.set(f"{run.prefix}last_seen:{user}", str(time.time()))
    client.close()


def measure(run: Run, args: argparse.Namespace, scenario: str) -> dict[str, float]:
    users = [str(uuid.uuid4()) for _ in range(100)]
    set_presence(run, users, online=scenario == "online")
    # Every conversation seen once (a first message is news to media), caches warm.
    publish(run, users, args.warmup, args.rate, first=True)
    wait_until(lambda: drained(run), 60, "the warm-up drained", every=0.2)
    time.sleep(1.0)
    seconds = args.events / args.rate
    before = run.cpu()
    time.sleep(seconds)
    idle = {name: (cpu - before[name]) / seconds for name, cpu in run.cpu().items()}
    profiler = None
    if args.profile:
        out = run.workdir / f"{args.profile}-{scenario}.txt"
        profiler = subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--gil",
                "--pid",
                str(run.children[args.profile].pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(out),
                "--duration",
                str(int(seconds) + 2),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    before = run.cpu()
    started = time.monotonic()
    publish(run, users, args.events, args.rate)
    wait_until(lambda: drained(run), 120, "the events drained", every=0.1)
    time.sleep(0.5)  # the last deliveries' commits and acks
    elapsed = time.monotonic() - started
    after = run.cpu()
    if profiler is not None:
        profiler.wait()
        say(f"py-spy profile (collapsed stacks): {out}")
    return {
        name: (after[name] - before[name] - idle[name] * elapsed) / args.events * 1e6
        for name in SERVICES
    } | {f"{name} idle %": idle[name] * 100 for name in SERVICES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO, help="checkout to run the services of")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200, help="at least 50: one per conversation")
    parser.add_argument("--rate", type=float, default=44.0, help="events per second (the issue's)")
    parser.add_argument("--scenarios", default="online,offline")
    parser.add_argument("--profile", choices=SERVICES, help="py-spy the service during the runs")
    args = parser.parse_args()
    source = args.source.resolve()
    results = {}
    with tempfile.TemporaryDirectory(prefix="consumer-cost-") as folder:
        workdir = Path(folder) if not args.profile else Path(tempfile.mkdtemp(prefix="cost-"))
        run = Run(source, workdir)
        try:
            run.up()
            for scenario in args.scenarios.split(","):
                say(f"{source}: {scenario}, {args.events} events at {args.rate}/s")
                results[scenario] = measure(run, args, scenario)
                say(f"  {json.dumps({k: round(v, 1) for k, v in results[scenario].items()})}")
        finally:
            run.down()
    print(json.dumps({"source": str(source), "rate": args.rate, "events": args.events, **results}))


if __name__ == "__main__":
    main()
