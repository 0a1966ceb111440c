"""Gateway API HTTPRoutes: one path prefix per service, split between legacy and new.

`migration.weight` is the new service's share of its path; the rest goes to the legacy
monolith named in `spec.gateway.legacy`. Without a legacy backend every path goes to the new
service whatever its weight, since there is nowhere else to send it.

A running canary may add two rules after ours. `canary.mirror`: GET requests on the same paths,
split as ours, with a RequestMirror filter copying `percent` of them to the canary (GET only:
a mirrored write would be done twice on the one database). `canary.match`: the same paths with
those headers go to the canary alone. Gateway API ranks matches, not rules: at equal paths a
method match beats header matches, so with a mirror the header rule matches GET explicitly too.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import Gateway, Platform, ServiceSpec
from messaging_operator.walks.settings import HeaderMatch, Preview
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
CANARY_MATCH_RULE = "messaging-operator-canary-match"
MIRROR_RULE = "messaging-operator-mirror"
OUR_RULES = (OWN_RULE, CANARY_MATCH_RULE, MIRROR_RULE)


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


def canary_ref(platform: Platform, service: ServiceSpec, weight: int | None = 1) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "kind": "Service",
        "group": "",
        "name": child_name(platform, f"{service.name}-canary"),
        "port": service.port,
    }
    return ref if weight is None else {**ref, "weight": weight}


def canary_match_rule(
    platform: Platform,
    service: ServiceSpec,
    match: tuple[tuple[HeaderMatch, ...], ...],
    also_get: bool,
) -> dict[str, Any]:
    """Every path of the service once per `canary.match` entry (and once more with method GET
    when a mirror rule would outrank it), all to the canary Service."""
    methods: tuple[str | None, ...] = (None, "GET") if also_get else (None,)
    return {
        "name": CANARY_MATCH_RULE,
        "matches": [
            {
                "path": {"type": "PathPrefix", "value": path},
                **({"method": method} if method else {}),
                "headers": [{"type": h.type, "name": h.name, "value": h.value} for h in headers],
            }
            for headers in match
            for method in methods
            for path in route_paths(service)
        ],
        "backendRefs": [canary_ref(platform, service)],
    }


def mirror_rule(
    platform: Platform, service: ServiceSpec, refs: list[dict[str, Any]], percent: int
) -> dict[str, Any]:
    """GET on the service's paths, to the same backends as our rule, `percent` copied to the
    canary (Envoy sends the copy and drops its answer)."""
    return {
        "name": MIRROR_RULE,
        "matches": [
            {"path": {"type": "PathPrefix", "value": path}, "method": "GET"}
            for path in route_paths(service)
        ],
        "filters": [
            {
                "type": "RequestMirror",
                "requestMirror": {
                    "backendRef": canary_ref(platform, service, weight=None),
                    "percent": percent,
                },
            }
        ],
        "backendRefs": [dict(ref) for ref in refs],
    }


def build_http_route(
    platform: Platform,
    service: ServiceSpec,
    canary_weight: int | None = None,
    canary_match: tuple[tuple[HeaderMatch, ...], ...] = (),
    mirror_percent: int | None = None,
) -> dict[str, Any] | None:
    """`canary_match`, `mirror_percent`: only for a running canary (its Service has pods)."""
    gateway = platform.spec.gateway
    if gateway is None:
        return None
    refs = backend_refs(platform, service, canary_weight)
    rules = [
        {
            "name": OWN_RULE,
            "matches": [
                {"path": {"type": "PathPrefix", "value": path}} for path in route_paths(service)
            ],
            "backendRefs": refs,
        }
    ]
    mirroring = canary_weight is not None and bool(mirror_percent)
    if mirroring:
        rules.append(mirror_rule(platform, service, refs, mirror_percent or 0))
    if canary_weight is not None and canary_match:
        rules.append(canary_match_rule(platform, service, canary_match, also_get=mirroring))
    spec: dict[str, Any] = {"parentRefs": [gateway_parent(gateway)], "rules": rules}
    if gateway.hostname:
        spec["hostnames"] = [gateway.hostname]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": spec,
    }


def build_preview_route(
    platform: Platform, service: ServiceSpec, preview: Preview
) -> dict[str, Any] | None:
    """A blue-green canary's own HTTPRoute `<name>-<service>-preview`: the service's paths on
    the preview hostname, or under the preview path prefix (stripped again), all to the canary."""
    gateway = platform.spec.gateway
    if gateway is None:
        return None
    target = [canary_ref(platform, service)]
    if preview.hostname:
        rules = [
            {
                "matches": [
                    {"path": {"type": "PathPrefix", "value": path}} for path in route_paths(service)
                ],
                "backendRefs": target,
            }
        ]
    else:
        prefix = (preview.path_prefix or "/preview").rstrip("/")
        # One rule per path: a rewrite names one replacement for whatever its rule matched.
        rules = [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": prefix + path}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {
                            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": path}
                        },
                    }
                ],
                "backendRefs": [dict(ref) for ref in target],
            }
            for path in route_paths(service)
        ]
    spec: dict[str, Any] = {"parentRefs": [gateway_parent(gateway)], "rules": rules}
    hostname = preview.hostname or gateway.hostname
    if hostname:
        spec["hostnames"] = [hostname]
    name = child_name(platform, f"{service.name}-preview")
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": object_meta(platform, name, f"{service.name}-canary"),
        "spec": spec,
    }


def _ours(rule: dict[str, Any], index: int, service_name: str) -> bool:
    if rule.get("name") in OUR_RULES:
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
    # The weights are our plain rule's (the mirror rule repeats them, the match rule has none).
    ours = [
        r
        for i, r in enumerate(rules)
        if _ours(r, i, service_name) and r.get("name") in (OWN_RULE, None)
    ]
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
