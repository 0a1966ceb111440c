"""NetworkPolicies: only the platform's own pods and the parent Gateway's reach a service, on
its port; the gateway is never given a route to `/internal`."""

from __future__ import annotations

from messaging_operator.builders.network_policies import build_network_policy
from messaging_operator.builders.routes import build_http_route
from messaging_operator.plan import plan_children
from messaging_operator.status import Observation

PLATFORM_POD = {"podSelector": {"matchLabels": {"messaging.platform.dev/platform": "chat"}}}


def test_a_service_admits_only_its_platform_and_its_gateway_on_its_port(platform):
    auth = platform.spec.services["auth"]
    policy = build_network_policy(platform, auth)
    assert policy is not None
    assert policy["metadata"]["name"] == "chat-auth"
    assert policy["metadata"]["namespace"] == "team"
    assert policy["metadata"]["ownerReferences"][0]["kind"] == "MessagingPlatform"
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    # One rule: anything not named in it is refused (no egress rules: egress stays open).
    [rule] = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8001}]
    gateway = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team"}},
        "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "public"}},
    }
    assert rule["from"] == [PLATFORM_POD, gateway]


def test_the_policy_covers_the_stable_and_the_canary_pods_only(platform):
    selector = build_network_policy(platform, platform.spec.services["groups"])["spec"][
        "podSelector"
    ]
    assert selector["matchLabels"] == {"messaging.platform.dev/platform": "chat"}
    assert selector["matchExpressions"] == [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": ["groups", "groups-canary"]}
    ]


def test_a_shared_gateway_is_admitted_from_its_own_namespace(make_platform):
    platform = make_platform({"gateway": {"gatewayRef": {"name": "edge", "namespace": "infra-gw"}}})
    [rule] = build_network_policy(platform, platform.spec.services["users"])["spec"]["ingress"]
    assert rule["from"][1] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "infra-gw"}},
        "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "edge"}},
    }


def test_without_a_gateway_only_the_platform_reaches_a_service(make_platform):
    platform = make_platform({"gateway": None})
    [rule] = build_network_policy(platform, platform.spec.services["media"])["spec"]["ingress"]
    assert rule["from"] == [PLATFORM_POD]


def test_the_plan_holds_one_policy_per_enabled_service(platform):
    plan = plan_children(platform, {}, Observation(), None)
    policies = {o["metadata"]["name"] for o in plan.objects if o["kind"] == "NetworkPolicy"}
    assert policies == {f"chat-{s.name}" for s in platform.spec.enabled_services}
    assert len(policies) == 8


def test_no_route_lets_the_gateway_reach_an_internal_path(platform):
    for service in platform.spec.enabled_services:
        route = build_http_route(platform, service)
        assert route is not None
        for rule in route["spec"]["rules"]:
            for match in rule["matches"]:
                assert match["path"]["value"].startswith(("/api/v1/", "/ws")), match
                assert "internal" not in match["path"]["value"], match


def test_a_gateway_whose_proxies_run_elsewhere_is_named_by_its_data_plane(make_platform):
    """Envoy Gateway's default install: proxies in its own namespace, with its own label."""
    platform = make_platform(
        {
            "gateway": {
                "gatewayRef": {"name": "public"},
                "dataPlane": {
                    "namespace": "envoy-gateway-system",
                    "podLabels": {"gateway.envoyproxy.io/owning-gateway-name": "public"},
                },
            }
        }
    )
    [rule] = build_network_policy(platform, platform.spec.services["auth"])["spec"]["ingress"]
    assert rule["from"][1] == {
        "namespaceSelector": {
            "matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}
        },
        "podSelector": {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": "public"}},
    }
