"""WORKERS=2: two uvicorn worker processes on one port, and /metrics counts both."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

HEALTH_COUNT = re.compile(
    r'^http_requests_total\{[^}]*method="GET"[^}]*route="/health"[^}]*\} (\S+)$', re.M
)


def health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(float(value) for value in HEALTH_COUNT.findall(text))


@pytest.mark.infra
def test_two_workers_serve_one_port_and_metrics_add_both_up(
    serve_auth: Any, tmp_path: Path
) -> None:
    samples = tmp_path / "metrics"  # the CLI makes one when unset; here, to look inside
    samples.mkdir()
    served = serve_auth(WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(samples))
    # New connections each time, so the kernel hands them to both workers.
    for _ in range(40):
        assert httpx.get(f"{served.base}/health", timeout=5).status_code == 200
    # Whichever worker answers /metrics, it reports all 40.
    counts = {health_count(served.base) for _ in range(10)}
    served.process.terminate()
    output, _ = served.process.communicate(timeout=30)
    assert counts == {40.0}, (counts, output[-3000:])
    assert served.process.returncode == 0, output[-3000:]
    # Both workers answered some (each writes its samples to files named after its pid).
    pids = {path.stem.rsplit("_", 1)[1] for path in samples.glob("counter_*.db")}
    assert len(pids) == 2, sorted(path.name for path in samples.iterdir())
