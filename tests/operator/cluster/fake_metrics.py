"""A real Prometheus (Debian's `prometheus`, started on a free loopback port with a temporary
data dir) scraping a tiny HTTP server that serves the kit's request metrics with the error
rate and latency each test sets per service and version. Imported by conftest.py."""

from __future__ import annotations

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

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeService:
    """Services (relay unless named) at several versions: counters grow at `rps`, a share
    `error` of them 5xx, every request taking `latency` seconds. Settings may change at any
    time; counters stay monotonic."""

    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], dict[str, float]] = {}
        self.counts: dict[tuple[str, str], dict[str, float]] = {}
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.port = 0

    def set(
        self,
        version: str,
        *,
        service: str = "relay",
        rps: float = 20,
        error: float = 0.0,
        latency: float = 0.04,
    ) -> None:
        with self.lock:
            self._advance()
            key = (service, version)
            self.settings[key] = {"rps": rps, "error": error, "latency": latency}
            self.counts.setdefault(key, {"ok": 0.0, "err": 0.0, "sum": 0.0})

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self.last = now - self.last, now
        for key, s in self.settings.items():
            n = s["rps"] * elapsed
            counts = self.counts[key]
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
            for (service, version), counts in self.counts.items():
                base = (
                    f'service="{service}",version="{version}",'
                    f'route="/api/v1/{service}",method="GET"'
                )
                lines.append(f'http_requests_total{{{base},status_class="2xx"}} {counts["ok"]}')
                lines.append(f'http_requests_total{{{base},status_class="5xx"}} {counts["err"]}')
                total = counts["ok"] + counts["err"]
                latency = self.settings[(service, version)]["latency"]
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
    service.port = int(server.server_address[1])
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
                        "static_configs": [{"targets": [f"127.0.0.1:{fake_relay.port}"]}],
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
