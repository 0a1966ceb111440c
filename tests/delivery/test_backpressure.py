"""A stalled client gets a bounded buffer, is disconnected, and delays no one else.

Events are published straight to the exchange (big ones for the stalled user, small
timestamped ones for the healthy user) so the test measures the websocket service alone.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import statistics
import time
import uuid
from typing import Any

import pika
import pytest
import redis
from messaging_testing.infra import wait_for
from websockets.sync.client import connect

pytestmark = pytest.mark.infra


def event(user_id: str, size: int) -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": "message.created",
            "source": "test",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "data": {
                "message_id": str(uuid.uuid4()),
                "recipient_ids": [user_id],
                # Random: frames are deflated, and a repeated letter would shrink to nothing.
                "ciphertext": base64.b64encode(os.urandom(size * 3 // 4)).decode(),
                "sent_at": time.time(),
            },
        }
    ).encode()


@pytest.mark.parametrize(
    "platform",
    [{"client_buffer_frames": 8, "slow_client_seconds": 6.0, "heartbeat_seconds": 60}],
    ids=["stall"],
    indirect=True,
)
def test_a_stalled_client_is_cut_off_without_slowing_the_others(platform: Any) -> None:
    stalled_user, healthy_user = platform.user(), platform.user()
    healthy = platform.client(healthy_user, replica=0)
    # A client that authenticates and then never reads: a tiny receive buffer, and the
    # library stops reading once one message is queued.
    sock = socket.create_connection(("127.0.0.1", int(platform.ws_urls[0].split(":")[2][:-3])))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled = connect(platform.ws_urls[0], sock=sock, max_queue=1, max_size=2**22).__enter__()
    stalled.send(json.dumps({"type": "auth", "token": stalled_user.token}))
    connection = pika.BlockingConnection(pika.URLParameters(platform.amqp_url))
    channel = connection.channel()

    def healthy_delays(count: int) -> list[float]:
        sent: dict[str, float] = {}
        start = len(healthy.events)
        for _ in range(count):
            body = event(healthy_user.id, 100)
            sent[json.loads(body)["id"]] = time.monotonic()
            channel.basic_publish(platform.exchange, "message.created", body)
            connection.sleep(0.01)
        healthy.wait_events(start + count)
        return [healthy.received_at[i] - t for i, t in sent.items()]

    hub = platform.extra["apps"][0].state.hub
    wait_for(lambda: hub.sessions.get(stalled_user.id))
    baseline = healthy_delays(50)
    flood_started = time.monotonic()
    for _ in range(150):
        channel.basic_publish(platform.exchange, "message.created", event(stalled_user.id, 64_000))
    redis_client = redis.Redis.from_url(platform.redis_url)
    stream = f"{platform.prefix}ws:stream:{stalled_user.id}"
    wait_for(lambda: redis_client.xlen(stream) == 150)
    # Stalled now: its socket and its bounded buffer are full, the pump waits.
    wait_for(lambda: all(s.buffer.full() for s in hub.sessions.get(stalled_user.id, ())))
    assert hub.sessions.get(stalled_user.id)
    print(f"flood stored in {time.monotonic() - flood_started:.1f} s")
    during = healthy_delays(100)
    assert hub.sessions.get(stalled_user.id), "measured while the stall lasted"
    # Then it is cut off as too slow (it can resume with its cursor).
    wait_for(lambda: not hub.sessions.get(stalled_user.id), timeout=30)
    connection.close()
    sock.close()
    redis_client.close()
    base_p50, during_p50 = statistics.median(baseline), statistics.median(during)
    print(f"healthy p50 before {base_p50 * 1000:.1f} ms, while stalled {during_p50 * 1000:.1f} ms")
    assert during_p50 - base_p50 < 0.005
