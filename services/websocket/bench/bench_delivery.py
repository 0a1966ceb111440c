"""Send -> websocket delivery latency (p50/p99) under open-loop load, on loopback.

Run from the repository root with the shared infrastructure up (`make infra-up`):
    uv run python services/websocket/bench/bench_delivery.py --rates 100 500 --seconds 20

Servers run as their own processes (auth, messages, two websocket replicas, one uvicorn
worker each); this process is the load: it sends at a fixed rate whatever the responses do
(open loop, each send a task scheduled at t0 + i/rate) and receives on WebSocket clients, half
on each replica. Latency is measured from the scheduled send time (so a backlog counts) to the
frame's arrival; the send time rides inside the (opaque to the server) ciphertext.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import httpx
import websockets
from auth_service.core.keys import generate_ed25519_pem
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import delete_broker_objects, free_port, fresh_database, infra_url

PAIRS = 20


def spawn(module: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", module, "serve"],
        env=os.environ | env | {"HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{module} did not become ready")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(
    auth_url: str, messages_url: str, ws_urls: list[str], rate: int, seconds: int
) -> dict[str, Any]:
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=200, max_keepalive_connections=200)
    ) as http:

        async def register() -> tuple[str, str]:
            name = f"b{uuid.uuid4().hex[:12]}"
            response = await http.post(
                f"{auth_url}/api/v1/auth/register",
                json={"email": f"{name}@example.com", "username": name, "password": "bench pass 1"},
            )
            body = response.json()
            return body["user"]["id"], body["tokens"]["access_token"]

        users = [await register() for _ in range(2 * PAIRS)]
        senders, recipients = users[:PAIRS], users[PAIRS:]
        latencies: list[float] = []
        send_latencies: list[float] = []
        expected = rate * seconds
        done = asyncio.Event()
        errors = 0
        reconnects = 0

        async def receive(index: int, token: str) -> None:
            """Like a real client: a dropped connection resumes from the last cursor."""
            cursor = None
            while True:
                try:
                    async with websockets.connect(ws_urls[index % 2], max_size=2**22) as ws:
                        auth = {"type": "auth", "token": token}
                        if cursor:
                            auth["cursor"] = cursor
                        await ws.send(json.dumps(auth))
                        cursor = json.loads(await ws.recv())["cursor"]
                        if index == PAIRS - 1:
                            ready.set()
                        async for text in ws:
                            frame = json.loads(text)
                            if frame.get("type") != "event":
                                continue
                            cursor = frame["cursor"]
                            if frame["event"]["type"] != "message.created":
                                continue
                            raw = base64.b64decode(frame["event"]["data"]["ciphertext"])
                            (scheduled,) = struct.unpack("<d", raw[:8])
                            latencies.append(time.time() - scheduled)
                            if len(latencies) >= expected:
                                done.set()
                except (OSError, websockets.ConnectionClosed):
                    nonlocal reconnects
                    reconnects += 1

        ready = asyncio.Event()
        receivers = [
            asyncio.create_task(receive(i, token)) for i, (_, token) in enumerate(recipients)
        ]
        await asyncio.wait_for(ready.wait(), 20)
        await asyncio.sleep(0.5)

        async def send(i: int, scheduled: float) -> None:
            nonlocal errors
            _, token = senders[i % PAIRS]
            recipient_id, _ = recipients[i % PAIRS]
            body = {
                "recipient_id": recipient_id,
                "idempotency_key": uuid.uuid4().hex,
                "ciphertext": base64.b64encode(
                    struct.pack("<d", scheduled) + os.urandom(120)
                ).decode(),
                "nonce": base64.b64encode(os.urandom(12)).decode(),
                "keys": {recipient_id: base64.b64encode(os.urandom(32)).decode()},
            }
            begun = time.time()
            try:
                response = await http.post(
                    f"{messages_url}/api/v1/messages",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code != 201:
                    errors += 1
                send_latencies.append(time.time() - begun)
            except httpx.HTTPError:
                errors += 1

        start = time.time() + 0.2
        tasks = []
        for i in range(expected):
            scheduled = start + i / rate
            delay = scheduled - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i, scheduled)))
        await asyncio.gather(*tasks)
        send_seconds = time.time() - start
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        for task in receivers:
            task.cancel()
        return {
            "rate": rate,
            "sent": expected,
            "send_errors": errors,
            "send_seconds": round(send_seconds, 1),
            "delivered": len(latencies),
            "receiver_reconnects": reconnects,
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "http_send_p50_ms": round(statistics.median(send_latencies) * 1000, 1),
            "http_send_p99_ms": round(percentile(send_latencies, 0.99) * 1000, 1),
            "load_average": os.getloadavg()[0],
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    redis_url, amqp_url = infra_url("MP_REDIS_URL"), infra_url("MP_AMQP_URL")
    exchange = f"bench.events.{run_id}"
    with ExitStack() as stack, tempfile.TemporaryDirectory() as keys:
        Path(keys, "k1.pem").write_bytes(generate_ed25519_pem())
        auth_db = stack.enter_context(fresh_database("bench_auth"))
        messages_db = stack.enter_context(fresh_database("bench_messages"))
        upgrade_head("auth_service", auth_db)
        upgrade_head("messages_service", messages_db)
        ports = [free_port() for _ in range(4)]
        common = {"AMQP_URL": amqp_url, "REDIS_URL": redis_url, "EVENTS_EXCHANGE": exchange}
        jwks = f"http://127.0.0.1:{ports[0]}/.well-known/jwks.json"
        processes = []
        queues = [f"bench.messages.{run_id}", f"bench.messages.{run_id}.dead"]
        queues += [f"bench.ws.{run_id}.r{i}" for i in range(2)]
        try:
            processes.append(
                spawn(
                    "auth_service",
                    common
                    | {
                        "DATABASE_URL": auth_db,
                        "SIGNING_KEYS_DIR": keys,
                        "REDIS_KEY_PREFIX": f"bench-{run_id}-auth",
                        "ARGON2_TIME_COST": "1",
                        "ARGON2_MEMORY_KIB": "1024",
                    },
                    ports[0],
                )
            )
            processes.append(
                spawn(
                    "messages_service",
                    common
                    | {"DATABASE_URL": messages_db, "JWKS_URL": jwks, "EVENTS_QUEUE": queues[0]},
                    ports[1],
                )
            )
            for i in range(2):
                processes.append(
                    spawn(
                        "websocket_service",
                        common
                        | {
                            "JWKS_URL": jwks,
                            "REDIS_KEY_PREFIX": f"bench-{run_id}:",
                            "REPLICA_ID": f"r{i}",
                            "EVENTS_QUEUE_PREFIX": f"bench.ws.{run_id}",
                        },
                        ports[2 + i],
                    )
                )
            ws_urls = [f"ws://127.0.0.1:{port}/ws" for port in ports[2:]]
            for rate in args.rates:
                result = asyncio.run(
                    run_load(
                        f"http://127.0.0.1:{ports[0]}",
                        f"http://127.0.0.1:{ports[1]}",
                        ws_urls,
                        rate,
                        args.seconds,
                    )
                )
                print(json.dumps(result), flush=True)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(20)
            delete_broker_objects(amqp_url, exchanges=(exchange,), queues=tuple(queues))


if __name__ == "__main__":
    main()
