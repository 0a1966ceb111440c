"""Gateway API HTTPRoutes: one path prefix per service, split between legacy and new.

`migration.weight` is the new service's share of its path; the rest goes to the legacy
monolith named in `spec.gateway.legacy`. Without a legacy backend every path goes to the new
service whatever its weight, since there is nowhere else to send it.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import Gateway, Platform, ServiceSpec
from messaging_operator.weights import RouteWeights, route_weights

# Prefixes a service serves besides /api/v1/<its name>: without them the gateway would send
# admin, contacts, invitations, conversations and presence to nobody. websocket's /ws is the path
# browsers open the socket on.
EXTRA_PATHS = {
    "auth": ["/api/v1/admin"],
    "users": ["/api/v1/contacts", "/api/v1/invitations"],
    "messages": ["/api/v1/conversations"],
    "websocket": ["/ws", "/api/v1/presence"],
}


# Our rule's name. `rules` is an atomic list in the Gateway API schema: applying our rule alone
# would delete every rule a person added by hand, so those are read back and applied with it.
OWN_RULE = "messaging-operator"


def route_paths(service: ServiceSpec) -> list[str]:
    return [f"/api/v1/{service.name}", *EXTRA_PATHS.get(service.name, [])]


def effective_weight(platform: Platform, service: ServiceSpec) -> int:
    gateway = platform.spec.gateway
    if gateway is None or gateway.legacy is None:
        return 100
    return service.migration_weight


def backend_refs(
    platform: Platform, service: ServiceSpec, canary_weight: int | None = None
) -> list[dict[str, Any]]:
    """Stable (and legacy) backends; with `canary_weight` (its share of what reaches the new
    service, see weights.py) also the canary Service. The weights always add up to 100."""
    legacy = platform.spec.gateway.legacy if platform.spec.gateway else None
    split = route_weights(
        has_legacy=legacy is not None,
        migration_weight=service.migration_weight,
        canary_weight=canary_weight or 0,
    )
    refs = [
        {
            "kind": "Service",
            "group": "",
            "name": child_name(platform, service.name),
            "port": service.port,
            "weight": split.stable,
        }
    ]
    if legacy is not None:
        refs.append(
            {
                "kind": "Service",
                "group": "",
                "name": legacy.service,
                "port": legacy.port,
                "weight": split.legacy,
            }
        )
    if canary_weight is not None:
        refs.append(
            {
                "kind": "Service",
                "group": "",
                "name": child_name(platform, f"{service.name}-canary"),
                "port": service.port,
                "weight": split.canary,
            }
        )
    return refs


def gateway_parent(gateway: Gateway) -> dict[str, Any]:
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": gateway.gateway_ref.name,
    }
    if gateway.gateway_ref.namespace:
        parent["namespace"] = gateway.gateway_ref.namespace
    if gateway.gateway_ref.section_name:
        parent["sectionName"] = gateway.gateway_ref.section_name
    return parent


def single_backend_route(
    platform: Platform, name: str, component: str, path: str, service: str, port: int
) -> dict[str, Any] | None:
    """An HTTPRoute sending PathPrefix `path` to one Service (the web client, the media bucket);
    None without a gateway."""
    gateway = platform.spec.gateway
    if gateway is None:
        return None
    spec: dict[str, Any] = {
        "parentRefs": [gateway_parent(gateway)],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                "backendRefs": [
                    {"kind": "Service", "group": "", "name": service, "port": port, "weight": 100}
                ],
            }
        ],
    }
    if gateway.hostname:
        spec["hostnames"] = [gateway.hostname]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": object_meta(platform, name, component),
        "spec": spec,
    }


def build_http_route(
    platform: Platform, service: ServiceSpec, canary_weight: int | None = None
) -> dict[str, Any] | None:
    gateway = platform.spec.gateway
    if gateway is None:
        return None
    spec: dict[str, Any] = {
        "parentRefs": [gateway_parent(gateway)],
        "rules": [
            {
                "name": OWN_RULE,
                "matches": [
                    {"path": {"type": "PathPrefix", "value": path}} for path in route_paths(service)
                ],
                "backendRefs": backend_refs(platform, service, canary_weight),
            }
        ],
    }
    if gateway.hostname:
        spec["hostnames"] = [gateway.hostname]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": spec,
    }


def _ours(rule: dict[str, Any], index: int, service_name: str) -> bool:
    if rule.get("name") == OWN_RULE:
        return True
    # Routes written before our rule had a name: it came first and sent traffic to our Service.
    backends = {ref.get("name") for ref in rule.get("backendRefs") or []}
    return index == 0 and not rule.get("name") and service_name in backends


def with_foreign_rules(
    route: dict[str, Any] | None, live: dict[str, Any] | None
) -> dict[str, Any] | None:
    """`route` plus, after our rule, the rules of the live route that are not ours."""
    if route is None or live is None:
        return route
    service_name = route["metadata"]["name"]
    rules = (live.get("spec") or {}).get("rules") or []
    foreign = [r for i, r in enumerate(rules) if not _ours(r, i, service_name)]
    if foreign:
        route["spec"]["rules"] = [*route["spec"]["rules"], *foreign]
    return route


def read_back(live: dict[str, Any] | None) -> RouteWeights | None:
    """The legacy / stable / canary weights our rule of a live route really holds (None
    without a route or our rule): status reports these, not the ones we meant to write."""
    if live is None:
        return None
    service_name = live["metadata"]["name"]
    rules = (live.get("spec") or {}).get("rules") or []
    ours = [r for i, r in enumerate(rules) if _ours(r, i, service_name)]
    if not ours:
        return None
    found = {"legacy": 0, "stable": 0, "canary": 0}
    for ref in ours[0].get("backendRefs") or []:
        name = ref.get("name")
        # Gateway API: an absent weight means 1.
        weight = int(ref.get("weight", 1))
        if name == service_name:
            found["stable"] += weight
        elif name == f"{service_name}-canary":
            found["canary"] += weight
        else:
            found["legacy"] += weight
    return RouteWeights(**found)
