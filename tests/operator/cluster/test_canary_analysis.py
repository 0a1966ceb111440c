"""Canary analysis against a real Prometheus (Debian's `prometheus`, started here on a free
loopback port with a temporary data dir) scraping a tiny HTTP server that serves the kit's
request metrics with the error rate and latency each test sets per version."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.cluster

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeService:
    """`relay` at several versions: counters grow at `rps`, a share `error` of them 5xx, every
    request taking `latency` seconds. Settings may change at any time; counters stay monotonic."""

    def __init__(self) -> None:
        self.settings: dict[str, dict[str, float]] = {}
        self.counts: dict[str, dict[str, float]] = {}
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def set(self, version: str, *, rps: float = 20, error: float = 0.0, latency: float = 0.04):
        with self.lock:
            self._advance()
            self.settings[version] = {"rps": rps, "error": error, "latency": latency}
            self.counts.setdefault(version, {"ok": 0.0, "err": 0.0, "sum": 0.0})

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self.last = now - self.last, now
        for version, s in self.settings.items():
            n = s["rps"] * elapsed
            counts = self.counts[version]
            counts["err"] += n * s["error"]
            counts["ok"] += n * (1 - s["error"])
            counts["sum"] += n * s["latency"]

    def exposition(self) -> str:
        with self.lock:
            self._advance()
            lines = [
                "# TYPE http_requests_total counter",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for version, counts in self.counts.items():
                base = f'service="relay",version="{version}",route="/api/v1/relay",method="GET"'
                lines.append(f'http_requests_total{{{base},status_class="2xx"}} {counts["ok"]}')
                lines.append(f'http_requests_total{{{base},status_class="5xx"}} {counts["err"]}')
                total = counts["ok"] + counts["err"]
                latency = self.settings[version]["latency"]
                for le in BUCKETS:
                    value = total if latency <= le else 0.0
                    lines.append(
                        f'http_request_duration_seconds_bucket{{{base},le="{le}"}} {value}'
                    )
                lines.append(f'http_request_duration_seconds_bucket{{{base},le="+Inf"}} {total}')
                lines.append(f"http_request_duration_seconds_count{{{base}}} {total}")
                lines.append(f"http_request_duration_seconds_sum{{{base}}} {counts['sum']}")
            return "\n".join(lines) + "\n"


@pytest.fixture
def fake_relay() -> Iterator[FakeService]:
    service = FakeService()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = service.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service.port = server.server_address[1]  # type: ignore[attr-defined]
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture
def prometheus(fake_relay: FakeService, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "relay",
                        "static_configs": [
                            {"targets": [f"127.0.0.1:{fake_relay.port}"]}  # type: ignore[attr-defined]
                        ],
                    }
                ],
            }
        )
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(
                "prometheus did not become ready: "
                + (tmp_path / "prometheus.log").read_text()[-2000:]
            )
        time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def _start(kube, ns, minimal_sample, url, canary):
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"]["analysis"] = {"prometheus": {"url": url}}
    platform["spec"]["services"] = {"relay": {"canary": canary}}
    for doc in docs:
        kube.apply(ns, json.dumps(doc))


def _walk(kube, ns):
    status = kube.platform(ns).get("status") or {}
    return ((status.get("services") or {}).get("relay") or {}).get("canary") or {}


ANALYSIS = {"maxErrorRate": 0.05, "maxP95LatencyMs": 200, "minRequests": 10, "failureLimit": 2}


def test_a_healthy_canary_passes_each_analysis_and_is_promoted(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0")
    time.sleep(3)  # a few scrapes before the first window ends
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "5s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 60, "promoted")
    analysis = _walk(kube, ns)["analysis"]
    assert analysis["verdict"] == "Pass"
    assert analysis["reason"] == "WithinThresholds"
    assert analysis["requests"] >= 10
    assert analysis["errorRate"] == 0
    assert 0 < analysis["p95LatencyMs"] <= 50


def test_a_failing_canary_is_rolled_back_with_its_numbers(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0", error=0.5)
    time.sleep(3)
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "4s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "RolledBack", 60, "rolled back")
    walk = _walk(kube, ns)
    assert walk["reason"] == "AnalysisFailed"
    assert walk["failures"] == 2
    assert 0.4 < walk["analysis"]["errorRate"] < 0.6
    assert "error rate" in walk["message"]
    route = kube.json("get", "httproute", "chat-relay", "-n", ns)
    weights = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"chat-relay": 100, "chat-relay-canary": 0}


def test_a_quiet_canary_waits_instead_of_rolling_back(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0", rps=0)
    time.sleep(2)
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "3s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Waiting", 30, "waiting")
    time.sleep(8)  # several more windows: still waiting, never a failure
    walk = _walk(kube, ns)
    assert (walk["phase"], walk["reason"], walk["failures"], walk["weight"]) == (
        "Waiting",
        "TooFewRequests",
        0,
        10,
    )
