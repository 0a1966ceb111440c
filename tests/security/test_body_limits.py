"""Every request body has a limit, enforced while it is read: a chunked body (no
Content-Length) is cut off soon after the limit with a 413 problem, not read and parsed in
full; a declared length over the limit is refused before a byte of the body is sent (also
with `Expect: 100-continue`). Raw sockets on loopback, as a client that lies would send."""

from __future__ import annotations

import select
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from messaging_kit.body_limit import DRAIN_MAX_BYTES
from testkit.raw_http import read_response

from security.stack import Platform

pytestmark = pytest.mark.infra

CHUNK = 64 * 1024


def open_socket(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def head(method: str, path: str, token: str, extra: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def chunked_until_answered(url: str, method: str, path: str, token: str) -> tuple[int, Any, int]:
    """Stream a never-ending chunked JSON body; returns (status, problem, bytes sent by then)."""
    sock = open_socket(url)
    sent = 0
    try:
        sock.sendall(head(method, path, token, "Transfer-Encoding: chunked\r\n"))
        payload = b'{"display_name": "' + b"x" * (CHUNK - 20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sent < 64 * 1024 * 1024:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(payload), payload))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(payload)
            payload = b"x" * CHUNK
        status, headers, body = read_response(sock)
        assert headers["content-type"].startswith("application/problem+json"), headers
        return status, body, sent
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("service", "method", "path", "limit"),
    [
        ("messages", "POST", "/api/v1/messages", 256 * 1024),
        ("users", "PATCH", "/api/v1/users/me", 1024 * 1024),
        ("groups", "POST", "/api/v1/groups", 2 * 1024 * 1024),
        ("auth", "POST", "/api/v1/auth/login", 1024 * 1024),
    ],
)
def test_a_chunked_body_is_cut_off_at_the_limit(
    platform: Platform, service: str, method: str, path: str, limit: int
) -> None:
    person = platform.register()
    status, problem, sent = chunked_until_answered(
        platform.urls[service], method, path, person.token
    )
    assert status == 413, problem
    assert problem["type"] == "urn:messaging:problem:payload-too-large"
    assert problem["limit"] == limit
    # Answered while reading: the client had sent the limit, what the service discards before
    # answering (at most DRAIN_MAX_BYTES, so the connection closes cleanly) and what the
    # socket buffers hold, not the 64 MiB it was going to. Nothing past the limit is parsed.
    assert sent < limit + DRAIN_MAX_BYTES + 12 * 1024 * 1024, sent
    # The service is fine afterwards.
    health = platform.http.get(platform.url(service, "/health"))
    assert health.status_code == 200


@pytest.mark.parametrize("expect", [False, True])
def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    platform: Platform, expect: bool
) -> None:
    person = platform.register()
    sock = open_socket(platform.urls["messages"])
    try:
        extra = f"Content-Length: {10 * 1024 * 1024}\r\n"
        if expect:
            extra += "Expect: 100-continue\r\n"
        sock.sendall(head("POST", "/api/v1/messages", person.token, extra))
        status, headers, problem = read_response(sock)  # no body sent at all
    finally:
        sock.close()
    assert status == 413, problem
    assert headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "urn:messaging:problem:payload-too-large"
