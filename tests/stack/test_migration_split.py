"""Through the gateway only (Envoy Gateway, forwarded to 127.0.0.1:8080): with
`migration.weight` 10, 50 and 90 on one route, 2,000 requests each split between the new service
and the legacy monolith within 3 points of the operator's weights; and with `migration.steps`,
the walk (judged by the stack's real Prometheus) moves the observed split from 20 % to 60 %.

Uses the stack `make up` runs (operator, MessagingPlatform `chat` in namespace `demo`, services
and legacy monolith as pods, Envoy Gateway); tests/stack/conftest.py runs hack/up.sh if part of
it is down. The weight goes back to what it was afterwards.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from testkit.kube import KUBECONFIG, Kubectl, eventually, kube_bin_dir

pytestmark = [pytest.mark.cluster, pytest.mark.infra, pytest.mark.usefixtures("local_stack")]

NAMESPACE = os.environ.get("MP_DEMO_NAMESPACE", "demo")
PLATFORM = "chat"
GATEWAY = "http://127.0.0.1:8080"
SERVICE = "auth"
# auth's JWKS: public, cheap, and the new service's answer ({"keys": [...]}) is unmistakable.
PATH = "/api/v1/auth/jwks.json"
REQUESTS = 2000
TOLERANCE = 0.03  # of REQUESTS, either way: 3 points
START_THE_STACK = "start the platform with `make up`"


@pytest.fixture(scope="module")
def kubectl() -> Kubectl:
    if not KUBECONFIG.exists():
        pytest.fail(f"no kubeconfig at {KUBECONFIG}: {START_THE_STACK}", pytrace=False)
    return Kubectl(f"{kube_bin_dir()}/kubectl", str(KUBECONFIG))


@pytest.fixture(scope="module")
def platform(kubectl: Kubectl) -> dict:
    found = kubectl.run("get", "mp", PLATFORM, "-n", NAMESPACE, "-o", "json", check=False)
    if not found:
        pytest.fail(
            f"no MessagingPlatform {NAMESPACE}/{PLATFORM}: {START_THE_STACK}", pytrace=False
        )
    body: dict = json.loads(found)
    if not (body["spec"].get("gateway") or {}).get("legacy"):
        pytest.fail(f"{NAMESPACE}/{PLATFORM} names no legacy backend", pytrace=False)
    return body


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=GATEWAY, timeout=10) as http:
        try:
            http.get("/")
        except httpx.TransportError as error:
            pytest.fail(f"no gateway at {GATEWAY} ({error}): {START_THE_STACK}", pytrace=False)
        yield http


def set_weight(kubectl: Kubectl, weight: int) -> None:
    patch = {"spec": {"services": {SERVICE: {"migration": {"weight": weight}}}}}
    kubectl.run("patch", "mp", PLATFORM, "-n", NAMESPACE, "--type=merge", "-p", json.dumps(patch))


def route_weights(kubectl: Kubectl) -> dict[str, int]:
    route = kubectl.json("get", "httproute", f"{PLATFORM}-{SERVICE}", "-n", NAMESPACE)
    refs = route["spec"]["rules"][0]["backendRefs"]
    return {ref["name"]: ref["weight"] for ref in refs}


def served_by(response: httpx.Response) -> str:
    if response.headers.get("x-served-by") == "legacy":
        return "legacy"
    if response.status_code == 200 and "keys" in response.json():
        return "new"
    return f"other: HTTP {response.status_code} {response.text[:80]}"


@pytest.fixture(params=[10, 50, 90], ids=lambda w: f"new-{w}")
def migrated(
    request: pytest.FixtureRequest, kubectl: Kubectl, platform: dict, client: httpx.Client
) -> Iterator[int]:
    """The share of the new service, set through the platform and seen in the route."""
    share: int = request.param
    before = (platform["spec"].get("services") or {}).get(SERVICE, {}).get("migration", {})
    set_weight(kubectl, share)
    try:
        eventually(
            lambda: route_weights(kubectl).get(f"{PLATFORM}-{SERVICE}") == share,
            timeout=60,
            what=f"the operator to write {share}/{100 - share} into HTTPRoute {PLATFORM}-{SERVICE}",
        )
        # Envoy gets the new weights over xDS within a second or two of the route changing.
        eventually(
            lambda: abs(split_of(client, 200)["new"] - 2 * share) <= 20,
            timeout=30,
            what=f"the gateway to serve the {share} % split",
        )
        yield share
    finally:
        restored = int(before.get("weight", 100))
        set_weight(kubectl, restored)
        if restored == 100:
            # Suites after this one (tests/web) register through this route: wait until the
            # gateway sends it all to the new service again.
            eventually(
                lambda: {served_by(client.get(PATH)) for _ in range(10)} == {"new"},
                timeout=60,
                what="the gateway to send this route's requests to the new service only again",
            )


def test_the_observed_split_matches_the_operators_weights(
    migrated: int, client: httpx.Client
) -> None:
    counts = split_of(client)
    print(f"new {migrated} %: observed split over {REQUESTS} requests: {dict(counts)}")
    assert set(counts) <= {"legacy", "new"}, f"answers from neither side: {counts}"
    assert abs(counts["new"] - REQUESTS * migrated / 100) <= TOLERANCE * REQUESTS, counts


# Long enough a window that the 1,000 requests of a step are all served before the next one.
WALK_REQUESTS = 1000
WALK = {
    "steps": [20, 60, 100],
    "interval": "30s",
    "analysis": {"minRequests": 20, "maxP95LatencyMs": 1000},
}


def split_of(client: httpx.Client, requests: int = REQUESTS) -> Counter[str]:
    return Counter(served_by(client.get(PATH)) for _ in range(requests))


@pytest.fixture
def walking(kubectl: Kubectl, platform: dict, client: httpx.Client) -> Iterator[None]:
    # weight and steps exclude each other: the merge patch removes the weight.
    patch = {"spec": {"services": {SERVICE: {"migration": {"weight": None, **WALK}}}}}
    kubectl.run("patch", "mp", PLATFORM, "-n", NAMESPACE, "--type=merge", "-p", json.dumps(patch))
    try:
        yield
    finally:
        back = {"weight": 100, "steps": None, "interval": None, "analysis": None}
        patch = {"spec": {"services": {SERVICE: {"migration": back}}}}
        kubectl.run(
            "patch", "mp", PLATFORM, "-n", NAMESPACE, "--type=merge", "-p", json.dumps(patch)
        )
        eventually(
            lambda: {served_by(client.get(PATH)) for _ in range(10)} == {"new"},
            timeout=60,
            what="the gateway to send this route's requests to the new service only again",
        )


def test_a_migration_walk_moves_the_observed_split_step_by_step(
    walking: None, kubectl: Kubectl, client: httpx.Client
) -> None:
    """migration.steps on the real stack: the operator writes 20 %, the gateway serves it, the
    stack's Prometheus sees the new service healthy over a window, and the walk moves to 60 %."""

    def at(share: int) -> bool:
        split_of(client, 30)  # traffic while waiting: the analysis needs minRequests
        return route_weights(kubectl).get(f"{PLATFORM}-{SERVICE}") == share

    for share in (20, 60):
        eventually(
            lambda s=share: at(s),
            timeout=90,
            what=f"the walk at {share} % in HTTPRoute {PLATFORM}-{SERVICE}",
        )
        # The gateway reloads a second or two after the route changes.
        eventually(
            lambda s=share: abs(split_of(client, 100)["new"] - s) <= 8,
            timeout=20,
            what=f"the gateway to serve the {share} % step",
        )
        counts = split_of(client, WALK_REQUESTS)
        print(f"walk at {share} %: observed split over {WALK_REQUESTS} requests: {dict(counts)}")
        assert set(counts) <= {"legacy", "new"}, counts
        assert abs(counts["new"] - WALK_REQUESTS * share / 100) <= TOLERANCE * WALK_REQUESTS, counts
    body = kubectl.json("get", "mp", PLATFORM, "-n", NAMESPACE)
    walk = body["status"]["services"][SERVICE]["migration"]
    assert walk["analysis"]["verdict"] == "Pass", walk
    assert walk["analysis"]["requests"] >= 20
