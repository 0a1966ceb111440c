"""Every error from a hop the platform owns is problem+json, and a service's 413 reaches the
client through the gateway: real HAProxy (the gateway's own render), a real kit service on
loopback behind it (its body limit, 1 MiB), raw sockets as a client that sends too much."""

from __future__ import annotations

import json
import select
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from messaging_kit.app import create_app
from messaging_kit.testing import LiveServer, free_port
from pydantic import BaseModel

LIMIT = 1024 * 1024


class Note(BaseModel):
    text: str


def kit_service() -> Any:
    router = APIRouter()

    @router.post("/api/v1/notes")
    def take(note: Note) -> dict[str, int]:
        return {"length": len(note.text)}

    return create_app("notes", routers=[router])


@pytest.fixture
def gateway_port(
    gateway: ModuleType, gateway_process: ModuleType, tmp_path: Path
) -> Iterator[tuple[int, int]]:
    """(gateway port, a port where nothing listens): /api/v1/notes goes to the kit service,
    /dead to nothing."""
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: Debian's package, installed by `make up`", pytrace=False)
    with LiveServer(kit_service()) as service:
        port, dead = free_port(), free_port()
        rules = [
            gateway.Rule(
                "demo/notes",
                "",
                (),
                "PathPrefix",
                "/api/v1/notes",
                [gateway.Backend("127.0.0.1", service.port, 1)],
            ),
            gateway.Rule(
                "demo/dead", "", (), "PathPrefix", "/dead", [gateway.Backend("127.0.0.1", dead, 1)]
            ),
        ]
        haproxy = gateway_process.HAProxy(tmp_path)
        haproxy.apply(gateway.render(gateway.Table(listeners={port: rules}), tmp_path))
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            yield port, dead
        finally:
            haproxy.stop()


def response_of(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"connection closed without an answer: {data!r}"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status == 100:  # an interim answer: the real one follows
        return response_of_rest(sock, rest)
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        rest += piece
    return status, headers, json.loads(rest[:length]) if length else None


def response_of_rest(sock: socket.socket, rest: bytes) -> tuple[int, dict[str, str], Any]:
    class Prefilled:
        def __init__(self) -> None:
            self.pending = rest

        def settimeout(self, value: float) -> None:
            sock.settimeout(value)

        def recv(self, size: int) -> bytes:
            if self.pending:
                piece, self.pending = self.pending, b""
                return piece
            return sock.recv(size)

    return response_of(Prefilled())  # type: ignore[arg-type]


def send_until_answered(port: int, extra: str, chunked: bool) -> tuple[int, dict[str, str], Any]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(
            (
                "POST /api/v1/notes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\n{extra}\r\n"
            ).encode()
        )
        if "Expect" in extra:
            # A careful client waits for 100 Continue, or for the final answer.
            return response_of(sock)
        payload, sent = b'{"text": "' + b"x" * 65000, 0
        while sent < 16 * LIMIT:
            if select.select([sock], [], [], 0)[0]:
                break
            piece = b"%x\r\n%s\r\n" % (len(payload), payload) if chunked else payload
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(payload)
            payload = b"x" * 65536
        return response_of(sock)
    finally:
        sock.close()


@pytest.mark.parametrize(
    "extra",
    [
        "Transfer-Encoding: chunked\r\n",
        f"Content-Length: {8 * LIMIT}\r\n",
        f"Content-Length: {8 * LIMIT}\r\nExpect: 100-continue\r\n",
    ],
    ids=["chunked", "length", "length-expect"],
)
def test_the_services_413_reaches_the_client_through_the_gateway(
    gateway_port: tuple[int, int], extra: str
) -> None:
    port, _ = gateway_port
    for _ in range(5):  # "often ends with the connection closed": every time, then
        status, headers, problem = send_until_answered(port, extra, "chunked" in extra)
        assert status == 413, (status, problem)
        assert headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "urn:messaging:problem:payload-too-large"


def test_the_gateways_own_errors_are_problem_json(gateway_port: tuple[int, int]) -> None:
    port, _ = gateway_port
    base = f"http://127.0.0.1:{port}"
    for path, status in (("/no/route/here", 404), ("/dead/x", 503)):
        response = httpx.get(base + path, timeout=10)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].startswith("urn:messaging:problem:")
