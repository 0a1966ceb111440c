"""The seed's success metrics have a home: the stack's Prometheus scrapes every service, the legacy
stand-in and the gateway, and the dashboard's queries are valid PromQL that it answers.

Uses the stack `make up` runs (tests/stack/conftest.py runs hack/up.sh if part of it is down).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.infra, pytest.mark.usefixtures("local_stack")]

PROMETHEUS = "http://127.0.0.1:19090"
DASHBOARD = Path(__file__).resolve().parents[2] / "charts/dashboards/messaging-platform.json"
EXPECTED = {
    "auth", "users", "messages", "groups", "media", "relay", "notifications", "websocket",
    "legacy", "gateway",
}  # fmt: skip


@pytest.fixture(scope="module")
def prometheus() -> httpx.Client:
    client = httpx.Client(base_url=PROMETHEUS, timeout=10)
    try:
        client.get("/-/ready").raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(
            f"no Prometheus at {PROMETHEUS} ({error}): start it with `make up`", pytrace=False
        )
    return client


def scrape_health(prometheus: httpx.Client) -> dict[str, str]:
    targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
    return {t["labels"]["service"]: t["health"] for t in targets}


def test_every_service_is_scraped_and_up(prometheus: httpx.Client) -> None:
    # A target (re)started a moment ago is "unknown" until its first scrape (every 5 s).
    deadline = time.monotonic() + 15
    health = scrape_health(prometheus)
    while set(health.values()) != {"up"} and time.monotonic() < deadline:
        time.sleep(1)
        health = scrape_health(prometheus)
    assert set(health) == EXPECTED
    down = {name: h for name, h in health.items() if h != "up"}
    assert not down, f"targets not up: {down}"


def test_every_dashboard_query_is_answered(prometheus: httpx.Client) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert queries
    for query in queries:
        promql = query.replace("$service", ".*").replace("$__range", "1h")
        answer = prometheus.get("/api/v1/query", params={"query": promql}).json()
        assert answer["status"] == "success", (query, answer)


def test_the_dashboard_renders_as_a_png_from_the_stacks_prometheus(
    prometheus: httpx.Client, tmp_path: Path
) -> None:
    """Grafana is not to be had here: hack/stack/render_dashboard.py draws the same panels."""
    out = tmp_path / "dashboard.png"
    script = Path(__file__).resolve().parents[2] / "hack/stack/render_dashboard.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--prometheus",
            PROMETHEUS,
            "--minutes",
            "5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Up and p95 always have series once the stack has been scraped for a while.
    with_data = int(done.stdout.split("(")[1].split()[0])
    assert with_data >= 2, done.stdout
