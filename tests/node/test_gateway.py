"""The gateway of `make up` is Envoy Gateway, the implementation the kind workflow installs:
its controller reports on the GatewayClass, the Gateway and every route of the platform, and a
weight change reaches Envoy without failing a request in flight.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from e2e.kit import User
from prometheus_client.parser import text_string_to_metric_families
from testkit.kube import Kubectl, eventually
from testkit.platform import GATEWAY, NAMESPACE, PLATFORM

from node.conftest import patch_platform, platform_ready, tag_image
from node.load import SteadyLoad

pytestmark = [pytest.mark.node]

CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
SERVICE = "auth"
PATH = "/api/v1/auth/jwks.json"  # public; both the new service and the legacy stand-in answer it
REQUESTS = 2000
CANARY_VERSION = "1.0.2"


def condition(obj: dict, kind: str) -> dict:
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {}
    )


def test_envoy_gateway_accepts_the_class_programs_the_gateway_and_takes_every_route(
    platform: Kubectl,
) -> None:
    gatewayclass = platform.json("get", "gatewayclass", "eg")
    assert gatewayclass["spec"]["controllerName"] == CONTROLLER
    assert condition(gatewayclass, "Accepted").get("status") == "True", gatewayclass["status"]

    gateway = platform.json("get", "gateway", "public", "-n", "gateway-system")
    assert condition(gateway, "Programmed").get("status") == "True", gateway["status"]
    address = gateway["status"]["addresses"][0]["value"]
    assert address.startswith("198.19."), f"not on the real node's Service range: {address}"

    routes = platform.json(
        "get", "httproutes", "-n", NAMESPACE, "-l", f"messaging.platform.dev/platform={PLATFORM}"
    )["items"]
    assert len(routes) >= 8, [r["metadata"]["name"] for r in routes]
    for route in routes:
        parents = [p for p in route["status"]["parents"] if p["controllerName"] == CONTROLLER]
        assert parents, f"{route['metadata']['name']}: no status from Envoy Gateway"
        states = {c["type"]: c["status"] for c in parents[0]["conditions"]}
        assert states.get("Accepted") == "True", (route["metadata"]["name"], parents)
        assert states.get("ResolvedRefs") == "True", (route["metadata"]["name"], parents)


def route_weight(k: Kubectl) -> int | None:
    route = k.json("get", "httproute", f"{PLATFORM}-{SERVICE}", "-n", NAMESPACE)
    weights = {ref["name"]: ref.get("weight") for ref in route["spec"]["rules"][0]["backendRefs"]}
    return weights.get(f"{PLATFORM}-{SERVICE}")


def test_a_weight_change_reaches_envoy_without_failing_a_request_in_flight(
    platform: Kubectl,
) -> None:
    """Steady load on one route while its split moves 100 -> 50 -> 0 -> 50 -> 100: every
    request is answered, by one side or the other."""
    before = platform.json("get", "mp", PLATFORM, "-n", NAMESPACE)["spec"]["services"][SERVICE]
    weight_before = (before.get("migration") or {}).get("weight", 100)
    legacy = {"n": 0}

    def ok(response: object) -> bool:
        if getattr(response, "headers", {}).get("x-served-by") == "legacy":
            legacy["n"] += 1
        return getattr(response, "status_code", 0) == 200

    try:
        with SteadyLoad(lambda client: client.get(PATH), ok=ok, rate=80) as load:
            began = time.monotonic()
            for weight in (100, 50, 0, 50, 100):
                patch_platform(platform, {"services": {SERVICE: {"migration": {"weight": weight}}}})
                eventually(
                    lambda w=weight: route_weight(platform) == w,
                    60,
                    f"the operator to write weight {weight} into HTTPRoute {PLATFORM}-{SERVICE}",
                )
                time.sleep(3)  # Envoy serves the new split for a while under load
        print(f"weight changes under load: {load.summary(began)}; {legacy['n']} served by legacy")
        assert load.count(began) > 600, load.summary(began)
        assert legacy["n"] > 50, "the split never reached the legacy side"
        assert not load.failures(began), load.summary(began)
    finally:
        patch_platform(platform, {"services": {SERVICE: {"migration": {"weight": weight_before}}}})
        eventually(lambda: route_weight(platform) == weight_before, 60, "the weight to be restored")


def relay_route(k: Kubectl) -> dict:
    return k.json("get", "httproute", f"{PLATFORM}-relay", "-n", NAMESPACE)


def relay_rule_names(k: Kubectl) -> list[str]:
    return [r.get("name", "") for r in relay_route(k)["spec"]["rules"]]


def relay_canary_weight(k: Kubectl) -> int | None:
    """The canary's weight in the operator's own rule of relay's route (None: no canary ref)."""
    refs = relay_route(k)["spec"]["rules"][0]["backendRefs"]
    return next((r.get("weight") for r in refs if r["name"] == f"{PLATFORM}-relay-canary"), None)


def relay_requests_by_version(k: Kubectl) -> Counter[str]:
    """GET /api/v1/relay/status requests each relay pod (stable and canary) has counted, by the
    version it runs: read from each pod's own /metrics on its address on the node's bridge."""
    pods = k.json("get", "pods", "-n", NAMESPACE)["items"]
    counts: Counter[str] = Counter()
    for pod in pods:
        name = pod["metadata"]["name"]
        address = (pod.get("status") or {}).get("podIP")
        if not name.startswith(f"{PLATFORM}-relay-") or not address:
            continue
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
        # A pod still starting has no /metrics to read; one going away (an earlier test's
        # canary) is not counted: its counter leaves with it.
        gone = pod["metadata"].get("deletionTimestamp")
        if not ready or gone or "migrate" in name:
            continue
        port = next(
            p["containerPort"]
            for c in pod["spec"]["containers"]
            for p in c.get("ports") or []
            if p.get("name") == "http"
        )
        text = httpx.get(f"http://{address}:{port}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (
                    sample.name == "http_requests_total"
                    and sample.labels.get("route") == "/api/v1/relay/status"
                ):
                    counts[sample.labels["version"]] += int(sample.value)
    return counts


def test_a_canary_gets_its_share_of_the_traffic_through_the_gateway(
    platform: Kubectl, user: User
) -> None:
    """A relay canary held at 30 %: of 2,000 requests through the gateway, the canary pod
    counts 30 % within 3 points (each pod's own request counter says who served what)."""
    tag_image("relay", CANARY_VERSION)

    def canary_weight() -> int | None:
        return relay_canary_weight(platform)

    patch_platform(
        platform, {"services": {"relay": {"canary": {"version": CANARY_VERSION, "weight": 30}}}}
    )
    headers = user.auth()
    try:
        eventually(lambda: canary_weight() == 30, 180, "the canary at 30 % in HTTPRoute chat-relay")
        with httpx.Client(base_url=GATEWAY, timeout=10) as client:

            def canary_serving() -> bool:
                for _ in range(20):
                    client.get("/api/v1/relay/status", headers=headers)
                return relay_requests_by_version(platform)[CANARY_VERSION] > 0

            eventually(canary_serving, 90, "the canary pod to serve through the gateway")
            before = relay_requests_by_version(platform)
            statuses = Counter(
                client.get("/api/v1/relay/status", headers=headers).status_code
                for _ in range(REQUESTS)
            )
        after = relay_requests_by_version(platform)
        served = after - before
        print(f"canary at 30 %: {REQUESTS} requests through the gateway, served {dict(served)}")
        assert statuses == Counter({200: REQUESTS}), statuses
        assert sum(served.values()) == REQUESTS, served
        assert abs(served[CANARY_VERSION] - REQUESTS * 0.30) <= 0.03 * REQUESTS, served
    finally:
        patch_platform(platform, {"services": {"relay": {"canary": None}}})
        eventually(lambda: not canary_weight(), 120, "the canary's weight gone from the route")
        eventually(lambda: platform_ready(platform), 180, "the platform Ready again")


def test_testers_marked_by_a_header_reach_a_canary_at_weight_zero(
    platform: Kubectl, user: User
) -> None:
    """canary.match: at weight 0 every request with `X-Canary: always` is served by the
    canary pod, and every other request by the stable one (each pod's own counter)."""
    tag_image("relay", CANARY_VERSION)
    testers = [{"headers": [{"name": "X-Canary", "value": "always"}]}]

    def match_rule() -> bool:
        return "messaging-operator-canary-match" in relay_rule_names(platform)

    canary = {"version": CANARY_VERSION, "weight": 0, "match": testers}
    patch_platform(platform, {"services": {"relay": {"canary": canary}}})
    headers = user.auth()
    marked = {**headers, "X-Canary": "always"}
    try:
        eventually(match_rule, 180, "the canary's match rule in HTTPRoute chat-relay")
        with httpx.Client(base_url=GATEWAY, timeout=10) as client:

            def canary_serving() -> bool:
                client.get("/api/v1/relay/status", headers=marked)
                return relay_requests_by_version(platform)[CANARY_VERSION] > 0

            eventually(canary_serving, 90, "the canary pod to serve the marked requests")
            before = relay_requests_by_version(platform)
            statuses = Counter(
                client.get("/api/v1/relay/status", headers=marked).status_code for _ in range(200)
            )
            middle = relay_requests_by_version(platform)
            statuses += Counter(
                client.get("/api/v1/relay/status", headers=headers).status_code for _ in range(200)
            )
        after = relay_requests_by_version(platform)
        marked_served, others_served = middle - before, after - middle
        print(
            f"canary at 0 % with a match: marked {dict(marked_served)}, "
            f"others {dict(others_served)}"
        )
        assert statuses == Counter({200: 400}), statuses
        assert marked_served == Counter({CANARY_VERSION: 200}), marked_served
        assert others_served[CANARY_VERSION] == 0, others_served
        assert sum(others_served.values()) == 200, others_served
    finally:
        patch_platform(platform, {"services": {"relay": {"canary": None}}})
        eventually(lambda: not match_rule(), 120, "the match rule gone from the route")
        eventually(lambda: platform_ready(platform), 180, "the platform Ready again")


def test_a_mirror_copies_reads_to_the_canary_and_users_get_the_stables_answers(
    platform: Kubectl, user: User
) -> None:
    """canary.mirror at 100 % with the canary at weight 0: each of 200 GETs is answered by the
    stable pod and copied to the canary pod, whose answers nobody sees (each pod's counter)."""
    tag_image("relay", CANARY_VERSION)

    def mirror_rule() -> bool:
        return "messaging-operator-mirror" in relay_rule_names(platform)

    canary = {"version": CANARY_VERSION, "weight": 0, "mirror": {"percent": 100}}
    patch_platform(platform, {"services": {"relay": {"canary": canary}}})
    headers = user.auth()
    try:
        eventually(mirror_rule, 180, "the mirror rule in HTTPRoute chat-relay")
        with httpx.Client(base_url=GATEWAY, timeout=10) as client:

            def canary_mirrored() -> bool:
                client.get("/api/v1/relay/status", headers=headers)
                return relay_requests_by_version(platform)[CANARY_VERSION] > 0

            eventually(canary_mirrored, 90, "the canary pod to receive mirrored requests")
            before = relay_requests_by_version(platform)
            statuses = Counter(
                client.get("/api/v1/relay/status", headers=headers).status_code for _ in range(200)
            )
        time.sleep(2)  # the copies are sent beside the requests, not before their answers
        served = relay_requests_by_version(platform) - before
        print(f"mirror at 100 %, canary at 0 %: 200 GETs, each pod counted {dict(served)}")
        assert statuses == Counter({200: 200}), statuses
        assert served[CANARY_VERSION] == 200, served
        assert sum(served.values()) == 400, served  # 200 answered by stable, 200 copies
    finally:
        patch_platform(platform, {"services": {"relay": {"canary": None}}})
        eventually(lambda: not mirror_rule(), 120, "the mirror rule gone from the route")
        eventually(lambda: platform_ready(platform), 180, "the platform Ready again")


def test_blue_green_previews_the_new_version_then_switches_everything_without_a_failure(
    platform: Kubectl, user: User
) -> None:
    """canary.preview: the new relay answers under /preview while every user request stays on
    stable; promoted under 40 requests/s, all traffic moves at once, and none fails."""
    tag_image("relay", CANARY_VERSION)
    canary = {"version": CANARY_VERSION, "preview": {"pathPrefix": "/preview"}, "interval": "1h"}
    patch_platform(platform, {"services": {"relay": {"canary": canary}}})
    headers = user.auth()
    try:
        with httpx.Client(base_url=GATEWAY, timeout=10) as client:

            def previewed() -> bool:
                answer = client.get("/preview/api/v1/relay/status", headers=headers)
                return (
                    answer.status_code == 200
                    and relay_requests_by_version(platform)[CANARY_VERSION] > 0
                )

            eventually(previewed, 180, "the new relay answering under /preview")
            before = relay_requests_by_version(platform)
            for _ in range(100):
                assert client.get("/api/v1/relay/status", headers=headers).status_code == 200
            users_saw = relay_requests_by_version(platform) - before
        assert users_saw == Counter({"1.0.0": 100}), users_saw

        with SteadyLoad(lambda c: c.get("/api/v1/relay/status", headers=headers)) as load:
            time.sleep(3)
            switched = time.monotonic()
            patch_platform(platform, {"services": {"relay": {"canary": {"promote": True}}}})

            def on_new() -> bool:
                return relay_canary_weight(platform) == 100

            eventually(on_new, 60, "all of relay's traffic on the new version")
            time.sleep(2)  # Envoy Gateway has sent the route to Envoy
            before = relay_requests_by_version(platform)
            time.sleep(3)
            after_switch = relay_requests_by_version(platform) - before
        print(
            f"blue-green switch under load: {load.summary(switched)}; after it {dict(after_switch)}"
        )
        assert load.count(switched) > 100, load.summary(switched)
        assert not load.failures(switched), load.summary(switched)
        assert after_switch[CANARY_VERSION] > 0, after_switch
        assert after_switch["1.0.0"] == 0, after_switch
    finally:
        # Undo the promotion while 1.0.0 is still warm (only a route change), then forget it.
        patch_platform(platform, {"services": {"relay": {"canary": {"abort": True}}}})

        def on_stable() -> bool:
            return not relay_canary_weight(platform)

        eventually(on_stable, 60, "relay's traffic back on 1.0.0")
        patch_platform(platform, {"services": {"relay": {"canary": None}}})
        eventually(lambda: platform_ready(platform), 240, "the platform Ready again")
