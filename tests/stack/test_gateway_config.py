"""hack/stack/gateway.py's pure part: Gateway API objects -> routing table -> haproxy.cfg."""

from __future__ import annotations

import ipaddress
from typing import Any

CLASS = {
    "metadata": {"name": "messaging-local"},
    "spec": {"controllerName": "messaging.platform.dev/local-haproxy"},
}
OTHER_CLASS = {"metadata": {"name": "example"}, "spec": {"controllerName": "example.com/gw"}}


def gateway_obj(name: str = "local", cls: str = "messaging-local", ns: str = "demo") -> dict:
    listener = {"name": "http", "protocol": "HTTP", "port": 80}
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"gatewayClassName": cls, "listeners": [listener]},
    }


def external(name: str, port: int, address: str = "127.0.0.1", ns: str = "demo") -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "ExternalName", "externalName": address, "ports": [{"port": port}]},
    }


def with_pods(name: str, port: int, ns: str = "demo") -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.20",
            "selector": {"a": "b"},
            "ports": [{"port": port}],
        },
    }


def route(name: str, path: str, refs: list[tuple[str, int, int]], **spec: Any) -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": "demo",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": spec.pop("parent", "local"),
                }
            ],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [
                        {"kind": "Service", "group": "", "name": n, "port": p, "weight": w}
                        for n, p, w in refs
                    ],
                }
            ],
            **spec,
        },
    }


SERVICES = [external("chat-auth", 8001), external("monolith", 8000), with_pods("podsvc", 8002)]


def table_for(gateway, routes, services=SERVICES, gateways=None):
    return gateway.build_table([CLASS, OTHER_CLASS], gateways or [gateway_obj()], routes, services)


def test_weighted_route_becomes_weighted_loopback_servers(gateway, tmp_path):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 8001, 50), ("monolith", 8000, 50)])
    config = gateway.render(table_for(gateway, [auth]), tmp_path)
    assert "bind 127.0.0.1:8080" in config
    assert "server b0 127.0.0.1:8001 weight 50" in config
    assert "server b1 127.0.0.1:8000 weight 50" in config


def test_path_prefix_matches_whole_segments_only(gateway, tmp_path):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 8001, 100)])
    config = gateway.render(table_for(gateway, [auth]), tmp_path)
    assert "path /api/v1/auth\n" in config
    assert "path_beg /api/v1/auth/\n" in config


def test_a_backend_with_pods_is_refused_and_answers_500(gateway, tmp_path):
    bad = route("bad", "/api/v1/users", [("podsvc", 8002, 1)])
    table = table_for(gateway, [bad])
    verdict = table.verdicts["demo/bad"]["demo/local"]
    assert not verdict.resolved
    assert "nor a Service selecting pods on the real node" in verdict.resolved_message
    config = gateway.render(table, tmp_path)
    assert "10.96.0.20" not in config
    assert f"server b0 127.0.0.1:{gateway.INVALID_BACKEND_PORT} weight 1" in config


def test_a_non_loopback_external_name_is_refused(gateway):
    services = [external("chat-auth", 8001, address="192.168.0.7")]
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 8001, 100)])
    verdict = table_for(gateway, [auth], services).verdicts["demo/chat-auth"]["demo/local"]
    assert not verdict.resolved


def test_routes_of_other_gateway_classes_are_ignored(gateway):
    other = route("elsewhere", "/x", [("chat-auth", 8001, 1)], parent="public")
    table = table_for(gateway, [other], gateways=[gateway_obj(), gateway_obj("public", "example")])
    assert "demo/elsewhere" not in table.verdicts
    assert table.listeners == {8080: []}


def test_longer_prefixes_are_matched_first(gateway):
    short = route("short", "/api", [("monolith", 8000, 1)])
    long = route("long", "/api/v1/auth", [("chat-auth", 8001, 1)])
    rules = table_for(gateway, [short, long]).listeners[8080]
    assert [r.path for r in rules] == ["/api/v1/auth", "/api"]


def test_zero_weight_backend_gets_no_traffic(gateway, tmp_path):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 8001, 0), ("monolith", 8000, 100)])
    config = gateway.render(table_for(gateway, [auth]), tmp_path)
    assert "server b0 127.0.0.1:8001 weight 0" in config
    assert "server b1 127.0.0.1:8000 weight 100" in config


def test_large_weights_keep_their_ratio_in_haproxy_range(gateway):
    assert gateway.haproxy_weights([1000, 3000]) == [85, 256]
    assert gateway.haproxy_weights([1, 1000000]) == [1, 256]


def test_unsupported_matches_are_not_accepted(gateway):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 8001, 1)])
    auth["spec"]["rules"][0]["matches"][0]["headers"] = [{"name": "x", "value": "y"}]
    verdict = table_for(gateway, [auth]).verdicts["demo/chat-auth"]["demo/local"]
    assert not verdict.accepted
    assert verdict.accepted_reason == "UnsupportedValue"


def test_routes_from_another_namespace_are_not_admitted_by_a_same_namespace_listener(gateway):
    foreign = route("foreign", "/x", [("chat-auth", 8001, 1)])
    foreign["metadata"]["namespace"] = "elsewhere"
    foreign["spec"]["parentRefs"][0]["namespace"] = "demo"
    verdict = table_for(gateway, [foreign]).verdicts["elsewhere/foreign"]["demo/local"]
    assert not verdict.accepted
    assert verdict.accepted_reason == "NotAllowedByListeners"


# --- the real node: Services selecting pods resolve to their ready EndpointSlice addresses -----

POD_RANGE = (ipaddress.ip_network("198.18.0.0/24"),)


def pod_service(name: str, port: int, port_name: str = "http") -> dict:
    service = with_pods(name, port)
    service["spec"]["ports"] = [{"name": port_name, "port": port, "targetPort": port_name}]
    return service


def endpoint_slice(service: str, target: int, *endpoints: tuple[str, bool]) -> dict:
    return {
        "metadata": {
            "name": f"{service}-x",
            "namespace": "demo",
            "labels": {"kubernetes.io/service-name": service},
        },
        "ports": [{"name": "http", "port": target}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": ok}} for a, ok in endpoints],
    }


def pod_table(gateway, routes, slices, services=None):
    services = services or [pod_service("chat-auth", 80), pod_service("monolith", 80)]
    return gateway.build_table(
        [CLASS], [gateway_obj()], routes, services, slices, pod_ranges=POD_RANGE
    )


def test_a_service_with_pods_routes_to_its_ready_pods_only(gateway, tmp_path):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 80, 1)])
    slices = [
        endpoint_slice(
            "chat-auth", 8000, ("198.18.0.11", True), ("198.18.0.12", False), ("198.18.0.13", True)
        )
    ]
    table = pod_table(gateway, [auth], slices)
    assert table.verdicts["demo/chat-auth"]["demo/local"].resolved
    config = gateway.render(table, tmp_path)
    assert "server b0_0 198.18.0.11:8000 weight 256 check" in config
    assert "server b0_1 198.18.0.13:8000 weight 256 check" in config
    assert "198.18.0.12" not in config  # not ready: terminating, or failing its probe


def test_addresses_outside_the_pod_range_are_never_configured(gateway, tmp_path):
    """kwok's pod addresses are bookkeeping: the gateway must never dial them."""
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 80, 1)])
    slices = [endpoint_slice("chat-auth", 8000, ("198.18.200.7", True), ("10.244.0.5", True))]
    config = gateway.render(pod_table(gateway, [auth], slices), tmp_path)
    assert "198.18.200.7" not in config
    assert "10.244.0.5" not in config
    # No ready pod: HAProxy has no server and answers the 503 problem, never a stranger.
    assert "server b0" not in config


def test_each_backend_ref_keeps_its_weight_whatever_its_pod_count(gateway, tmp_path):
    split = route("chat-auth", "/api/v1/auth", [("chat-auth", 80, 75), ("monolith", 80, 25)])
    slices = [
        endpoint_slice("chat-auth", 8000, ("198.18.0.11", True), ("198.18.0.12", True)),
        endpoint_slice("monolith", 8000, ("198.18.0.21", True)),
    ]
    config = gateway.render(pod_table(gateway, [split], slices), tmp_path)
    weights = {
        line.split()[2]: int(line.split()[4])
        for line in config.splitlines()
        if line.strip().startswith("server b")
    }
    new = weights["198.18.0.11:8000"] + weights["198.18.0.12:8000"]
    assert abs(new / (new + weights["198.18.0.21:8000"]) - 0.75) < 0.01


def test_the_gateway_never_renders_a_pod_address_without_a_pod_range(gateway, tmp_path):
    auth = route("chat-auth", "/api/v1/auth", [("chat-auth", 80, 1)])
    slices = [endpoint_slice("chat-auth", 8000, ("198.18.0.11", True))]
    table = gateway.build_table(
        [CLASS], [gateway_obj()], [auth], [pod_service("chat-auth", 80)], slices
    )
    assert not table.verdicts["demo/chat-auth"]["demo/local"].resolved
    assert "198.18.0.11" not in gateway.render(table, tmp_path)
