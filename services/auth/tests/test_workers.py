"""WORKERS=2: two uvicorn worker processes on one port, and /metrics counts both."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from messaging_testing.infra import (
    delete_broker_objects,
    free_port,
    fresh_database,
    require_rabbitmq,
    require_redis,
)

HEALTH_COUNT = re.compile(
    r'^http_requests_total\{[^}]*method="GET"[^}]*route="/health"[^}]*\} (\S+)$', re.M
)


def health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(float(value) for value in HEALTH_COUNT.findall(text))


@pytest.mark.infra
def test_two_workers_serve_one_port_and_metrics_add_both_up(tmp_path: Path) -> None:
    from auth_service.core.keys import generate_ed25519_pem
    from messaging_kit.migrations import upgrade_head

    (tmp_path / "k1.pem").write_bytes(generate_ed25519_pem())
    port = free_port()
    exchange = f"test.workers.{port}"
    with fresh_database("auth_workers") as url:
        upgrade_head("auth_service", url)
        samples = tmp_path / "metrics"  # the CLI makes one when unset; here, to look inside
        samples.mkdir()
        env = os.environ | {
            "PROMETHEUS_MULTIPROC_DIR": str(samples),
            "DATABASE_URL": url,
            "REDIS_URL": require_redis(),
            "AMQP_URL": require_rabbitmq(),
            "SIGNING_KEYS_DIR": str(tmp_path),
            "PORT": str(port),
            "EVENTS_EXCHANGE": exchange,
            "WORKERS": "2",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "auth_service"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "server never became ready"
                time.sleep(0.2)
            # New connections each time, so the kernel hands them to both workers.
            for _ in range(40):
                assert httpx.get(f"{base}/health", timeout=5).status_code == 200
            # Whichever worker answers /metrics, it reports all 40.
            counts = {health_count(base) for _ in range(10)}
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
            delete_broker_objects(env["AMQP_URL"], exchanges=(exchange,))
        assert counts == {40.0}, (counts, output[-3000:])
        assert server.returncode == 0, output[-3000:]
        # Both workers answered some (each writes its samples to files named after its pid).
        pids = {path.stem.rsplit("_", 1)[1] for path in samples.glob("counter_*.db")}
        assert len(pids) == 2, sorted(path.name for path in samples.iterdir())
