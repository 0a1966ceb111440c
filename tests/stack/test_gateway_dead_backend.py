"""Through the local gateway a dead backend is a fast error the client can retry (503 with
Retry-After, problem+json), never a multi-second stall; with a second backend in the rule
(stable and canary, new and legacy) the requests go there instead. Real HAProxy, real backends
on loopback, the gateway's own render and process code."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Backend:
    """An HTTP server on a fixed port that can die (its socket closed) and come back."""

    def __init__(self, name: str) -> None:
        self.name, self.port = name, free_port()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        name = self.name

        class Answer(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def die(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def haproxy(gateway_process: ModuleType, tmp_path: Path) -> Iterator[Any]:
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: Debian's package, installed by `make up`", pytrace=False)
    process = gateway_process.HAProxy(tmp_path)
    yield process
    process.stop()


def serve(gateway: ModuleType, haproxy: Any, tmp_path: Path, backends: list[Backend]) -> str:
    port = free_port()
    servers = [gateway.Backend("127.0.0.1", b.port, 1) for b in backends]
    rule = gateway.Rule("demo/route", "", (), "PathPrefix", "/", servers)
    haproxy.apply(str(gateway.render(gateway.Table(listeners={port: [rule]}), tmp_path)))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return url


def timed(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=30)
    return response, time.monotonic() - started


def test_a_dead_backend_is_a_fast_retryable_503(
    gateway: ModuleType, haproxy: Any, tmp_path: Path
) -> None:
    backend = Backend("only")
    backend.start()
    url = serve(gateway, haproxy, tmp_path, [backend])
    assert timed(url)[0].text == "only"
    backend.die()
    answers = []
    for _ in range(10):  # right after the death, and once the health check has seen it
        answers.append(timed(url))
        time.sleep(0.1)
    slowest = max(took for _, took in answers)
    assert {r.status_code for r, _ in answers} == {503}
    assert all(r.headers.get("retry-after") == "1" for r, _ in answers)
    assert answers[-1][0].json()["type"] == "urn:messaging:problem:unavailable"
    assert slowest < 1.2, f"a request stalled {slowest:.1f}s"

    backend.start()  # back: served again within the health check's interval
    deadline = time.monotonic() + 5
    while timed(url)[0].status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert timed(url)[0].text == "only"
    backend.die()


def test_requests_go_to_the_live_backend_when_the_other_dies(
    gateway: ModuleType, haproxy: Any, tmp_path: Path
) -> None:
    stable, canary = Backend("stable"), Backend("canary")
    stable.start()
    canary.start()
    url = serve(gateway, haproxy, tmp_path, [stable, canary])
    canary.die()
    answers = [timed(url) for _ in range(20)]
    stable.die()
    assert [r.status_code for r, _ in answers] == [200] * 20
    assert {r.text for r, _ in answers} == {"stable"}
    slowest = max(took for _, took in answers)
    assert slowest < 1.2, f"a request stalled {slowest:.1f}s"
