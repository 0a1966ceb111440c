"""What a client sees through the gateway when a backend is down (issue 23): a fast error it can
retry, problem+json like the services' own errors, never a stall; and when the rule has another
backend that answers, no error at all. hack/gateway/gateway.yaml's BackendTrafficPolicy says how
(connect timeout 500 ms, retries on a refused connect, Envoy's own errors as problem+json).

A dead backend here is a Service whose port nothing listens on, on auth's ready pods: what a
crashed container looks like until its readiness probe fails. Its HTTPRoutes live under /fault/
for the test's length.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from testkit.kube import Kubectl, eventually
from testkit.platform import GATEWAY, NAMESPACE, PLATFORM
from testkit.raw_http import read_response

pytestmark = [pytest.mark.node]

DEAD = "fault-dead"
JWKS = "/api/v1/auth/jwks.json"
STALL = 1.2  # seconds: a refused connect retried twice is milliseconds; a stall is seconds
LIMIT = 1024 * 1024  # the services' body limit (messaging_kit.body_limit)


def route(name: str, path: str, refs: list[dict[str, Any]], rewrite: str | None) -> dict:
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "backendRefs": refs,
    }
    if rewrite:
        path_rewrite = {"type": "ReplacePrefixMatch", "replacePrefixMatch": rewrite}
        rule["filters"] = [{"type": "URLRewrite", "urlRewrite": {"path": path_rewrite}}]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateway-system"}],
            "rules": [rule],
        },
    }


@pytest.fixture(scope="module")
def fault_routes(platform: Kubectl) -> Iterator[None]:
    """/fault/dead -> a dead Service only; /fault/half -> the dead Service and auth, 1:1, both
    rewritten to auth's JWKS path."""
    auth = platform.json("get", "service", f"{PLATFORM}-auth", "-n", NAMESPACE)
    port = auth["spec"]["ports"][0]["port"]
    dead = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DEAD},
        "spec": {
            "selector": auth["spec"]["selector"],
            "ports": [{"name": "http", "port": port, "targetPort": 1}],  # nothing listens on 1
        },
    }
    dead_ref = {"name": DEAD, "port": port, "weight": 1}
    auth_ref = {"name": f"{PLATFORM}-auth", "port": port, "weight": 1}
    objects = [
        dead,
        route("fault-dead", "/fault/dead", [dead_ref], None),
        route("fault-half", "/fault/half", [dead_ref, auth_ref], JWKS),
    ]
    for manifest in objects:
        platform.apply(manifest, NAMESPACE)
    try:
        # Until Envoy has the routes, /fault/ is the web client's (its catch-all route).
        eventually(
            lambda: httpx.get(f"{GATEWAY}/fault/dead", timeout=5).status_code == 503,
            60,
            "Envoy to serve the /fault/dead route",
        )
        eventually(
            lambda: httpx.get(f"{GATEWAY}/fault/half", timeout=5).status_code == 200,
            60,
            "Envoy to serve the /fault/half route",
        )
        yield
    finally:
        for manifest in reversed(objects):
            platform.run(
                "delete",
                manifest["kind"].lower(),
                manifest["metadata"]["name"],
                "-n",
                NAMESPACE,
                "--ignore-not-found",
            )


def timed(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - began


def test_a_dead_backend_is_a_fast_retryable_problem(fault_routes: None) -> None:
    with httpx.Client(base_url=GATEWAY, timeout=30) as client:
        answers = [timed(client, "/fault/dead") for _ in range(20)]
    slowest = max(took for _, took in answers)
    print(f"dead backend: 20 answers, slowest {slowest * 1000:.0f} ms")
    assert [r.status_code for r, _ in answers] == [503] * 20
    for response, _ in answers:
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert response.headers.get("retry-after") == "1"
        problem = response.json()
        assert problem["type"] == "urn:messaging:problem:unavailable", problem
        assert problem["status"] == 503
    assert slowest < STALL, f"a request stalled {slowest:.2f} s"


def test_a_dead_backend_beside_a_live_one_fails_no_request(fault_routes: None) -> None:
    """Half the picks land on the dead backend; each is retried on the live one. Without the
    policy's retries about 100 of these 200 would be 503s."""
    with httpx.Client(base_url=GATEWAY, timeout=30) as client:
        answers = [timed(client, "/fault/half") for _ in range(200)]
    statuses = [r.status_code for r, _ in answers]
    slowest = max(took for _, took in answers)
    print(f"dead + live: {statuses.count(200)}/200 answered 200, slowest {slowest * 1000:.0f} ms")
    assert statuses == [200] * 200, {s: statuses.count(s) for s in set(statuses)}
    assert all("keys" in r.json() for r, _ in answers)
    assert slowest < STALL, f"a request stalled {slowest:.2f} s"


def send_too_much(extra: str, chunked: bool) -> tuple[int, dict[str, str], Any]:
    """POST far more than the limit to a service through the gateway, as a client that keeps
    sending until it is answered."""
    host, port = GATEWAY.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        sock.sendall(
            (
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\n{extra}\r\n"
            ).encode()
        )
        if "Expect" in extra:  # a careful client waits for 100 Continue or the final answer
            return read_response(sock)
        payload, sent = b'{"password": "' + b"x" * 65000, 0
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
        return read_response(sock)
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
    platform: Kubectl, extra: str
) -> None:
    for _ in range(3):
        status, headers, problem = send_too_much(extra, "chunked" in extra)
        assert status == 413, (status, headers, problem)
        assert headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "urn:messaging:problem:payload-too-large"
