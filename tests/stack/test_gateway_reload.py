"""The local gateway's HAProxy reloads (a route's weights changed) under keep-alive traffic.

A client that reuses its connection must never see one dropped by a reload: a migration step or
a canary weight change is a reload, and users' requests keep flowing through it. Real HAProxy
(Debian's package), real backends on loopback, the gateway's own render and reload code.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import httpx
import pytest

RELOADS = 40
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backend(name: str) -> ThreadingHTTPServer:
    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive towards HAProxy

        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def backends() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    pair = backend("legacy"), backend("new")
    yield pair
    for server in pair:
        server.shutdown()
        server.server_close()


def test_reloads_drop_no_request_on_a_kept_alive_connection(
    gateway: ModuleType,
    gateway_process: ModuleType,
    backends: tuple[ThreadingHTTPServer, ...],
    tmp_path: Path,
) -> None:
    port = free_port()

    def config(new_weight: int) -> str:
        servers = [
            gateway.Backend("127.0.0.1", b.server_address[1], w)
            for b, w in zip(backends, (100 - new_weight, new_weight), strict=True)
        ]
        rule = gateway.Rule("demo/route", "", (), "PathPrefix", "/", servers)
        return str(gateway.render(gateway.Table(listeners={port: [rule]}), tmp_path))

    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: Debian's package, installed by `make up`", pytrace=False)
    haproxy = gateway_process.HAProxy(tmp_path)
    haproxy.apply(config(0))
    failures: list[str] = []
    served: list[int] = []  # one count per client
    done = threading.Event()

    def keep_asking() -> None:
        count = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while not done.is_set():
                try:
                    client.get("/").raise_for_status()
                    count += 1
                except httpx.HTTPError as error:
                    failures.append(f"{type(error).__name__}: {error}")
        served.append(count)

    try:
        deadline = time.monotonic() + 10
        while not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Several clients: a drop needs a request in flight on a connection the reload closes.
        askers = [threading.Thread(target=keep_asking) for _ in range(CLIENTS)]
        for asker in askers:
            asker.start()
        for reload in range(RELOADS):
            time.sleep(0.1)
            haproxy.apply(config(10 * (reload % 10 + 1)))
        time.sleep(0.5)
        done.set()
        for asker in askers:
            asker.join(10)
    finally:
        done.set()
        haproxy.stop()
    print(f"{sum(served)} requests over {RELOADS} reloads, {len(failures)} failed")
    assert sum(served) > RELOADS * 10, f"too little traffic to tell: {served} requests"
    assert not failures, failures[:5]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
