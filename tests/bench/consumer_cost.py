"""What one `message.created` costs its consumers: CPU microseconds per event and a py-spy
flame graph of each consumer (issue #19), on the real infrastructure (`make infra-up`).

Every service with a consumer bound to `message.created` (services/EVENTS.md), but websocket,
whose delivery services_bench.py profiles in the send path's latency run:

    notifications  two consumers, email (`notifications.email`) and push (`notifications.push`)
    media          its member lists (`media.memberships`)
    relay          the offline queues (`relay.events`)

Starts them as real processes (from --source: this checkout by default, or a `git worktree` of
an older commit to measure "before" in the same session) on fresh databases and a private
exchange, publishes --events `message.created` at --rate per second the way messages' outbox
relay does (persistent JSON envelope, routing key = type, publisher confirms), and reads the CPU
time around the run: each process' (/proc/PID/stat utime + stime, all threads) and each consumer
thread's (/proc/PID/task/TID/stat; the thread ids come from `py-spy dump`). The idle rate,
measured first for as long, is taken off: what is left is the events' cost.

Scenarios: `online` (both ends connected: websocket's presence in Redis, as in a live chat) and
`offline` (nobody connected: every message becomes a digest item and a relay entry). No one has
push targets, so the push consumer skips every event (after its database check).

Flame graphs: py-spy samples each process while its burst runs (publish to drained), every
thread apart (`--threads`: one tower per thread; a consumer's is `consumer-<queue>`, relay's
`relay-consumer`), into `flame-<service>-<scenario>.svg`. Each consumer's samples and top
frames (own time) are read back from that SVG, which carries every frame's sample range. The
processes are profiled in place rather than each consumer started alone: the services start
their consumers themselves (app lifespan), and a consumer shares its process, pool and GIL with
the others as in production. py-spy runs with --nonblocking (the target is not paused, and
py-spy's own CPU is not in the figures) and --gil: a sample is the thread holding the GIL, that
is running Python. Without --gil, py-spy counts every thread the kernel has runnable, and on a
busy machine a thread woken from a socket read or poll() waits for a core there: those wake-up
points filled most samples. So the graphs show where the Python code spends its time; C work
with the GIL released (libpq, the socket calls themselves) is in the CPU figures only.

    git worktree add /tmp/before <commit>     # "before", run from the same script
    uv run --frozen python tests/bench/consumer_cost.py [--source /tmp/before] [--events 2000]
    uv run --frozen python tests/bench/consumer_cost.py --no-flame-graphs   # CPU figures only

`tests/bench/run.py` runs it as the "consumers" part of `make bench` (--only consumers).
"""

from __future__ import annotations

import argparse
import base64
import collections
import html
import itertools
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import redis
from common import REPO, Child, Row, cpu_seconds, free_port, say, summary, wait_until
from services_bench import BIN, create_database, database_url, drop_databases, infra

SERVICES = ("notifications", "media", "relay")
QUEUES = {
    "notifications": ("notifications.email", "notifications.push"),
    "media": ("media.thumbnails", "media.memberships"),
    "relay": ("relay.events",),
}
WITH_DATABASE = ("notifications", "media")
# The consumers of message.created: name -> (service, queue). media.thumbnails takes only
# media.uploaded: it runs, but is not one of them.
CONSUMERS = {
    "notifications email": ("notifications", "notifications.email"),
    "notifications push": ("notifications", "notifications.push"),
    "media memberships": ("media", "media.memberships"),
    "relay": ("relay", "relay.events"),
}
SPY = BIN / "py-spy"
SPY_RATE = 200  # samples per second (--gil: about one per 5 ms of Python running)


@dataclass
class Settings:
    events: int = 2000
    warmup: int = 200  # at least 50: one per conversation
    rate: float = 44.0  # events per second (the issue's)
    scenarios: tuple[str, ...] = ("online", "offline")
    flame_graphs: bool = True


def source_path(source: Path) -> str:
    """PYTHONPATH that makes the services and the kit import from `source` (ahead of the
    workspace's editable installs)."""
    return os.pathsep.join(str(source / "services" / name / "src") for name in ("kit", *SERVICES))


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """User + system CPU time of one thread of a process."""
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_ids(pid: int) -> dict[str, int]:
    """Thread name -> native thread id of a Python process (`py-spy dump`)."""
    done = subprocess.run(
        [str(SPY), "dump", "--pid", str(pid), "--nonblocking"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    found = {}
    for line in done.stdout.splitlines():
        match = re.match(r'Thread (0x[0-9A-Fa-f]+|\d+) \([^)]*\): "(.*)"', line)
        if match:
            found[match[2]] = int(match[1], 0)
    return found


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
        # consumer -> native thread id in its service's process (empty without py-spy)
        self.threads: dict[str, int] = {}

    def queue(self, consumer: str) -> str:
        service, queue = CONSUMERS[consumer]
        return self.queues[service][QUEUES[service].index(queue)]

    def thread_name(self, consumer: str) -> str:
        service = CONSUMERS[consumer][0]
        return "relay-consumer" if service == "relay" else f"consumer-{self.queue(consumer)}"

    def env(self, service: str) -> dict[str, str]:
        common = {
            **os.environ,
            "PYTHONPATH": source_path(self.source),
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "WORKERS": "1",  # the consumers in the process uvicorn runs (and py-spy samples)
            "LOG_LEVEL": "INFO",
            "AMQP_URL": infra("MP_AMQP_URL"),
            "EVENTS_EXCHANGE": self.exchange,
            "JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
            # Fed by user.* events only, and auth is not here: not what is measured.
            "REVOCATIONS_ENABLED": "false",
        }
        if service in WITH_DATABASE:
            name = create_database(f"bench_cost_{service}_{self.run_id}")
            self.databases.append(name)
            common["DATABASE_URL"] = database_url(name)
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
        if service == "relay":
            return {
                **common,
                "REDIS_URL": infra("MP_REDIS_URL"),
                "REDIS_KEY_PREFIX": self.prefix,  # the presence set_presence writes
                "EVENTS_QUEUE": queues[0],
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
            if service in WITH_DATABASE:
                subprocess.run([command, "migrate"], env=env, check=True, capture_output=True)
            log = self.workdir / f"{service}.log"
            self.children[service] = Child(service, [command, "serve"], env, log)
        for service, child in self.children.items():
            wait_until(lambda child=child: self.consuming(child), 90, f"{service} consuming")
        # The source asked for is the one running (not the workspace's editable install).
        for child in self.children.values():
            assert str(self.source) in Path(f"/proc/{child.pid}/environ").read_text()
        if SPY.exists():
            for service, child in self.children.items():
                names = thread_ids(child.pid)
                for consumer, (owner, _) in CONSUMERS.items():
                    if owner == service and self.thread_name(consumer) in names:
                        self.threads[consumer] = names[self.thread_name(consumer)]
            missing = set(CONSUMERS) - set(self.threads)
            if missing:
                say(f"no thread found for {', '.join(sorted(missing))}: process CPU only")
        else:
            say("py-spy is not installed (uv sync --all-extras): process CPU only, no flame graphs")

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
        """CPU seconds so far of each process (by service) and consumer thread (by consumer)."""
        found = {name: cpu_seconds(child.pid) for name, child in self.children.items()}
        for consumer, tid in self.threads.items():
            found[consumer] = thread_cpu_seconds(self.children[CONSUMERS[consumer][0]].pid, tid)
        return found

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


def spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on `pid` into the flame graph `out` until interrupted (SIGINT: it writes `out`
    then), every thread apart."""
    argv = [str(SPY), "record", "--pid", str(pid), "--threads", "--nonblocking", "--gil"]
    argv += ["--rate", str(SPY_RATE), "--output", str(out)]
    log = out.with_suffix(".log").open("wb")
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def stop_spies(spies: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, _ in spies:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process, out in spies:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log = out.with_suffix(".log").read_text(errors="replace")
        if not out.exists():
            say(f"py-spy wrote no {out.name}: {log[-500:]}")
        elif "behind in sampling" in log:
            say(f"{out.name}: py-spy fell behind its rate (busy machine): fewer samples")


FRAME = re.compile(
    r"<g><title>(?P<name>.*?) \([\d,]+ samples?, [\d.]+%\)</title><rect [^>]*?"
    r'y="(?P<y>\d+(?:\.\d+)?)"[^>]*?fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)


def top_frames(svg: Path, count: int = 5) -> dict[str, dict[str, Any]]:
    """Per thread of py-spy's `--threads` flame graph: its samples and the functions most often
    on top of its stacks (own samples, a function's lines merged). Read back from the SVG,
    which holds every frame's sample range (inferno's fg:x, fg:w), so one py-spy per process
    gives both the picture and the figures."""
    if not svg.exists():
        return {}
    frames = [
        (html.unescape(m["name"]), float(m["y"]), int(m["x"]), int(m["w"]))
        for m in FRAME.finditer(svg.read_text(errors="replace"))
    ]
    if not frames:
        return {}
    rows = sorted({y for _, y, _, _ in frames})
    root = next((y for name, y, _, _ in frames if name == "all"), rows[0])
    step = min(b - a for a, b in itertools.pairwise(rows)) if len(rows) > 1 else 1
    by_depth: dict[int, list[tuple[str, int, int]]] = collections.defaultdict(list)
    for name, y, x, w in frames:
        by_depth[round(abs(y - root) / step)].append((name, x, w))
    threads = {}
    for label, x, w in by_depth[1]:
        if not label.startswith("thread ("):
            continue
        own: collections.Counter[str] = collections.Counter()
        depth = 1
        level = [(label, x, w)]
        while level:
            below = [f for f in by_depth[depth + 1] if x <= f[1] < x + w]
            for name, fx, fw in level:
                inner = sum(cw for _, cx, cw in below if fx <= cx < fx + fw)
                if fw > inner and depth > 1:
                    own[re.sub(r":\d+\)$", ")", name)] += fw - inner
            depth, level = depth + 1, below
        thread = re.sub(r"^thread \(\w+\): ", "", label)
        threads[thread] = {
            "samples": w,
            "top_own": [
                {"frame": frame, "samples": n, "percent": 100 * n / w}
                for frame, n in own.most_common(count)
            ],
        }
    return threads


def measure(run: Run, settings: Settings, scenario: str) -> dict[str, Any]:
    """One scenario: idle, then the burst (profiled); CPU per event of every process and
    consumer thread, and where each consumer's samples went."""
    users = [str(uuid.uuid4()) for _ in range(100)]
    set_presence(run, users, online=scenario == "online")
    # Every conversation seen once (a first message is news to media), caches warm.
    publish(run, users, settings.warmup, settings.rate, first=True)
    wait_until(lambda: drained(run), 60, "the warm-up drained", every=0.2)
    time.sleep(1.0)
    seconds = settings.events / settings.rate
    before = run.cpu()
    time.sleep(seconds)
    idle = {name: (cpu - before[name]) / seconds for name, cpu in run.cpu().items()}
    spies: list[tuple[subprocess.Popen[bytes], Path]] = []
    if settings.flame_graphs and SPY.exists():
        for service, child in run.children.items():
            out = run.workdir / f"flame-{service}-{scenario}.svg"
            spies.append((spy(child.pid, out), out))
        time.sleep(1.0)  # attached before the first event
    before = run.cpu()
    started = time.monotonic()
    publish(run, users, settings.events, settings.rate)
    wait_until(lambda: drained(run), 120, "the events drained", every=0.1)
    time.sleep(0.5)  # the last deliveries' commits and acks
    elapsed = time.monotonic() - started
    after = run.cpu()
    stop_spies(spies)
    per_event = {
        name: (after[name] - before[name] - idle[name] * elapsed) / settings.events * 1e6
        for name in after
    }
    result: dict[str, Any] = {"seconds": elapsed, "processes": {}, "consumers": {}}
    for service in SERVICES:
        svg = run.workdir / f"flame-{service}-{scenario}.svg"
        result["processes"][service] = {
            "cpu_us_per_event": per_event[service],
            "idle_cpu_percent": idle[service] * 100,
            "flame_graph": str(svg) if svg.exists() else None,
        }
    profiles = {
        service: top_frames(run.workdir / f"flame-{service}-{scenario}.svg") for service in SERVICES
    }
    for consumer, (service, _) in CONSUMERS.items():
        thread = run.thread_name(consumer)
        result["consumers"][consumer] = {
            "thread": thread,
            "cpu_us_per_event": per_event.get(consumer),
            "flame_graph": result["processes"][service]["flame_graph"],
            **profiles[service].get(thread, {}),
        }
    return result


def shown(path: str | None) -> str:
    if path is None:
        return "no flame graph"
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(resolved)


def rows_of(results: dict[str, Any], settings: Settings) -> list[Row]:
    """A row per consumer and scenario: its thread's CPU per event; the process' figure, the
    flame graph and the top frame in the note."""
    rows = []
    for scenario, result in results.items():
        for consumer, entry in result["consumers"].items():
            service = CONSUMERS[consumer][0]
            process = result["processes"][service]
            value = entry["cpu_us_per_event"]
            top = entry.get("top_own") or []
            note = (
                f"{settings.events} events at {settings.rate:.0f}/s; whole {service} process "
                f"{process['cpu_us_per_event']:.0f} µs/event (idle "
                f"{process['idle_cpu_percent']:.1f} % of a core, taken off); "
                f"flame graph {shown(entry['flame_graph'])} (thread {entry['thread']})"
            )
            if top:
                note += (
                    f"; {entry['samples']} samples, top frame {top[0]['frame']} "
                    f"{top[0]['percent']:.0f} %"
                )
            rows.append(
                Row(
                    "consumers",
                    f"message.created: {consumer} consumer, {scenario}",
                    "µs CPU/event",
                    summary([value] if value is not None else []),
                    verdict="n/a",
                    note=note,
                    extra={"top_own": top, "process_cpu_us_per_event": process["cpu_us_per_event"]},
                )
            )
    return rows


def run_scenarios(source: Path, workdir: Path, settings: Settings) -> dict[str, Any]:
    results = {}
    run = Run(source, workdir)
    try:
        run.up()
        for scenario in settings.scenarios:
            say(f"consumers ({source}): {scenario}, {settings.events} events at {settings.rate}/s")
            results[scenario] = measure(run, settings, scenario)
            say(
                "  µs CPU per event: "
                + ", ".join(
                    f"{name} {value['cpu_us_per_event']:.0f}"
                    for name, value in {
                        **results[scenario]["processes"],
                        **results[scenario]["consumers"],
                    }.items()
                    if value["cpu_us_per_event"] is not None
                )
            )
    finally:
        run.down()
    return results


class ConsumerBench:
    """The "consumers" part of run.py: both scenarios, flame graphs into `workdir`."""

    def __init__(self, workdir: Path, quick: bool) -> None:
        self.workdir = workdir
        # 44/s as the issue; quick: about 7 s per burst, else about 23 s.
        self.settings = Settings(events=300 if quick else 1000, warmup=100 if quick else 200)
        self.rows: list[Row] = []
        self.data: dict[str, Any] = {}

    def run(self) -> None:
        results = run_scenarios(REPO, self.workdir, self.settings)
        self.data = {"events": self.settings.events, "rate": self.settings.rate, **results}
        self.rows = rows_of(results, self.settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO, help="checkout to run the services of")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200, help="at least 50: one per conversation")
    parser.add_argument("--rate", type=float, default=44.0, help="events per second (the issue's)")
    parser.add_argument("--scenarios", default="online,offline")
    parser.add_argument("--no-flame-graphs", action="store_true", help="CPU figures only")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the flame graphs and logs (default bench-results/consumers-<time>/)",
    )
    args = parser.parse_args()
    source = args.source.resolve()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = args.out or REPO / "bench-results" / f"consumers-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        events=args.events,
        warmup=args.warmup,
        rate=args.rate,
        scenarios=tuple(args.scenarios.split(",")),
        flame_graphs=not args.no_flame_graphs,
    )
    results = run_scenarios(source, workdir, settings)
    say(f"flame graphs and logs: {workdir}")
    print(
        json.dumps(
            {"source": str(source), "rate": args.rate, "events": args.events, **results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
