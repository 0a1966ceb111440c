"""Open-loop send -> websocket delivery latency, run as its own process (the load generator).

Sends `rate` messages per second for `duration` seconds through the messages service, each at
its intended time t0 + i/rate whether or not earlier sends have answered (open loop), and
measures delivery on the recipients' WebSocket connections from that intended time, so a
stalled server shows up as latency instead of as fewer requests (coordinated omission).

    python latency_gen.py CONFIG.json RATE DURATION OUT.json
CONFIG: {"messages_url", "ws_url", "pairs": [{"sender": {"id","token"}, "recipient": {...}}]}
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

# After the last answer, how long deliveries may still arrive; a send not answered this long
# after its intended time is given up (it counts as lost). Both keep an overloaded run bounded.
DRAIN_SECONDS = float(os.environ.get("BENCH_DRAIN_SECONDS", "10"))
SEND_TIMEOUT_SECONDS = float(os.environ.get("BENCH_SEND_TIMEOUT_SECONDS", "10"))
MAX_IN_FLIGHT = 512  # beyond this, sends queue in the generator (still timed from intent)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    rank = max(1, min(len(values), round(q / 100 * len(values) + 0.5)))
    return values[rank - 1]


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: None stands for "not delivered within the run"."""
    return None if value is None or value == float("inf") else value


def body(sender: dict[str, str], recipient: dict[str, str]) -> bytes:
    return json.dumps(
        {
            "recipient_id": recipient["id"],
            "idempotency_key": uuid.uuid4().hex,
            "ciphertext": base64.b64encode(os.urandom(48)).decode(),
            "nonce": base64.b64encode(os.urandom(12)).decode(),
            "keys": {
                recipient["id"]: base64.b64encode(b"wrapped-for-recipient").decode(),
                sender["id"]: base64.b64encode(b"wrapped-for-sender").decode(),
            },
        }
    ).encode()


async def listen(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    received: dict[str, float],
    ready: asyncio.Event,
    stop: asyncio.Event,
    reconnects: list[int],
) -> None:
    """One device: like a real client, it reconnects and resumes from its cursor when the
    server closes it (e.g. as too slow); what arrives late that way is late, not lost."""
    cursor: str | None = None
    while not stop.is_set():
        async with session.ws_connect(url, max_msg_size=2**22) as ws:
            auth: dict[str, Any] = {"type": "auth", "token": token}
            if cursor:
                auth["cursor"] = cursor
            await ws.send_str(json.dumps(auth))
            first = json.loads((await ws.receive(timeout=10)).data)
            if first.get("type") != "ready":
                raise RuntimeError(f"websocket refused: {first}")
            cursor = first.get("cursor") or cursor
            ready.set()
            last_ping = time.monotonic()
            while not stop.is_set():
                try:
                    message = await ws.receive(timeout=1)
                except TimeoutError:
                    message = None
                now = time.monotonic()
                if message is not None:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        reconnects[0] += 1
                        break
                    frame = json.loads(message.data)
                    if frame.get("type") == "event":
                        cursor = frame.get("cursor") or cursor
                        event = frame["event"]
                        if event.get("type") == "message.created":
                            received.setdefault(event["data"]["message_id"], now)
                if now - last_ping > 5:
                    await ws.send_str('{"type":"ping"}')
                    last_ping = now


async def run(config: dict[str, Any], rate: float, duration: float) -> dict[str, Any]:
    pairs = config["pairs"]
    received: dict[str, float] = {}
    sent: dict[str, float] = {}  # message id -> intended send time
    answer_ms: list[float] = []
    failures: dict[str, int] = {}
    stop = asyncio.Event()
    reconnects = [0]
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:
        readies = [asyncio.Event() for _ in pairs]
        listeners = [
            asyncio.create_task(
                listen(
                    session,
                    config["ws_url"],
                    p["recipient"]["token"],
                    received,
                    r,
                    stop,
                    reconnects,
                )
            )
            for p, r in zip(pairs, readies, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 15)
        total = int(rate * duration)
        bodies = [
            body(pairs[i % len(pairs)]["sender"], pairs[i % len(pairs)]["recipient"])
            for i in range(total)
        ]
        limit = asyncio.Semaphore(MAX_IN_FLIGHT)
        url = config["messages_url"] + "/api/v1/messages"

        async def send(i: int, intended: float) -> None:
            headers = {
                "Authorization": f"Bearer {pairs[i % len(pairs)]['sender']['token']}",
                "Content-Type": "application/json",
            }
            async with limit:
                if time.monotonic() - intended > SEND_TIMEOUT_SECONDS:
                    failures["given up (generator backlog)"] = (
                        failures.get("given up (generator backlog)", 0) + 1
                    )
                    return
                try:
                    async with session.post(
                        url,
                        data=bodies[i],
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS),
                    ) as response:
                        payload = await response.read()
                        if response.status != 201:
                            failures[str(response.status)] = (
                                failures.get(str(response.status), 0) + 1
                            )
                            return
                        sent[json.loads(payload)["id"]] = intended
                        answer_ms.append((time.monotonic() - intended) * 1000)
                except (aiohttp.ClientError, TimeoutError) as error:
                    name = type(error).__name__
                    failures[name] = failures.get(name, 0) + 1

        start = time.monotonic() + 0.2
        tasks = []
        behind = 0.0
        for i in range(total):
            intended = start + i / rate
            delay = intended - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                behind = max(behind, -delay)
            tasks.append(asyncio.create_task(send(i, intended)))
        send_end = time.monotonic()
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and not set(sent) <= set(received):
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*listeners, return_exceptions=True)
    delivered = sorted((received[m] - t) * 1000 for m, t in sent.items() if m in received)
    # Coordinated omission, the other half: a message refused, unanswered or never delivered
    # counts as slower than anything measured, so it cannot make the percentiles look better.
    every = delivered + [float("inf")] * (total - len(delivered))
    answer_ms.sort()
    return {
        "rate": rate,
        "duration_seconds": duration,
        "intended": total,
        "accepted": len(sent),
        "delivered": len(delivered),
        "lost": len(sent) - len(delivered),
        "failures": failures,
        "websocket_reconnects": reconnects[0],
        "achieved_send_rate": total / max(send_end - start, 1e-9),
        "generator_max_behind_ms": behind * 1000,
        "delivery_ms": {q: _finite(percentile(every, q)) for q in (50, 95, 99)}
        | {"max": _finite(every[-1]) if every else None},
        "delivered_only_ms": {q: percentile(delivered, q) for q in (50, 95, 99)},
        "send_answer_ms": {q: percentile(answer_ms, q) for q in (50, 95, 99)},
    }


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    # uvloop: the generator shares the two cores with the servers; the cheaper loop leaves more.
    result = uvloop.run(run(config, float(sys.argv[2]), float(sys.argv[3])))
    Path(sys.argv[4]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
