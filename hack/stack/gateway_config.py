"""The gateway's pure part: Gateway API objects -> routing table -> haproxy.cfg.

Only loopback addresses and pod addresses on the real node's bridge are ever configured. A
backendRef resolves to a Service of type ExternalName whose name is a loopback IP literal, or,
given `pod_ranges` (hack/node.sh's pod range), to the ready endpoints of a Service's
EndpointSlices inside those ranges, as every Gateway API implementation routes to pods. Anything
else (kwok's bookkeeping addresses above all) is refused: its share of the route answers 500, as
the Gateway API asks for invalid backends. hack/stack/gateway.py runs it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

CONTROLLER = "messaging.platform.dev/local-haproxy"
GATEWAY_GROUP = "gateway.networking.k8s.io"
BIND_ADDRESS = "127.0.0.1"
# A privileged listener port (80, 443) is served on this offset (8080) so nothing needs root.
PRIVILEGED_PORT_OFFSET = 8000
# The loopback port answering 500 for a route's share that has no valid backend.
INVALID_BACKEND_PORT = 18099
METRICS_PORT = 18404
HAPROXY_MAX_WEIGHT = 256
# The gateway's own answer when no backend of a route is up: the services' problem shape.
UNAVAILABLE_PROBLEM = (
    '{"type":"urn:messaging:problem:unavailable","title":"No backend is answering",'
    '"status":503,"detail":"retry after the Retry-After seconds"}'
)


# ---------------------------------------------------------------------------------------------
# From Gateway API objects to a routing table (pure functions).


@dataclass(frozen=True)
class Backend:
    address: str  # loopback IP literal; "" when the ref is invalid or `pods` holds the addresses
    port: int  # the port to dial: the ExternalName's, or the pods' target port
    weight: int
    pods: tuple[str, ...] | None = None  # a Service with pods: its ready endpoints (may be none)

    def servers(self) -> tuple[str, ...]:
        if self.pods is not None:
            return self.pods
        return (self.address,) if self.address else ()

    @property
    def valid(self) -> bool:
        return self.pods is not None or bool(self.address)


@dataclass
class Rule:
    route: str  # namespace/name
    created: str
    hostnames: tuple[str, ...]
    path_type: str
    path: str
    backends: list[Backend]


@dataclass
class RouteVerdict:
    accepted: bool = True
    accepted_reason: str = "Accepted"
    accepted_message: str = "programmed into the local HAProxy"
    resolved: bool = True
    resolved_reason: str = "ResolvedRefs"
    resolved_message: str = "all backendRefs resolve to loopback processes"


@dataclass
class Table:
    pod_ranges: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    listeners: dict[int, list[Rule]] = field(default_factory=dict)  # local port -> rules
    gateways: dict[str, list[int]] = field(default_factory=dict)  # ns/name -> local ports
    verdicts: dict[str, dict[str, RouteVerdict]] = field(default_factory=dict)  # route -> parent


def local_port(listener_port: int) -> int:
    return listener_port + PRIVILEGED_PORT_OFFSET if listener_port < 1024 else listener_port


def loopback_literal(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Cluster:
    """What backendRefs resolve against: Services and EndpointSlices by (namespace, service)."""

    services: dict[tuple[str, str], dict[str, Any]]
    slices: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    pod_ranges: tuple[Network, ...] = ()


def in_ranges(address: str, ranges: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in ranges)


def ready_pods(
    service: dict[str, Any], port: int, slices: list[dict[str, Any]], ranges: tuple[Network, ...]
) -> tuple[int, tuple[str, ...]] | None:
    """The target port and ready endpoint addresses (inside `ranges`) behind a Service port."""
    ports = service["spec"].get("ports") or []
    service_port = next((p for p in ports if p.get("port") == port), None)
    if service_port is None:
        return None
    name = service_port.get("name", "")
    target, addresses = 0, set()
    for endpoint_slice in slices:
        slice_port = next(
            (p for p in endpoint_slice.get("ports") or [] if p.get("name", "") == name), None
        )
        if slice_port is None or not slice_port.get("port"):
            continue
        target = int(slice_port["port"])
        for endpoint in endpoint_slice.get("endpoints") or []:
            # Ready excludes terminating pods: a rolling update drains them from the gateway first.
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            addresses.update(a for a in endpoint.get("addresses") or [] if in_ranges(a, ranges))
    return target, tuple(sorted(addresses))


def resolve_backend(
    ref: dict[str, Any], namespace: str, cluster: Cluster
) -> tuple[Backend, str | None]:
    """A backendRef as loopback or pod addresses, or an invalid Backend and why."""
    weight = int(ref.get("weight", 1))
    port = int(ref.get("port") or 0)
    invalid = Backend("", 0, weight)
    if ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
        return invalid, f"{ref.get('kind')} {ref.get('name')}: only Services are supported"
    if ref.get("namespace", namespace) != namespace:
        return invalid, f"Service {ref['name']}: cross-namespace refs need a ReferenceGrant"
    service = cluster.services.get((namespace, ref["name"]))
    if service is None:
        return invalid, f"Service {namespace}/{ref['name']} not found"
    spec = service.get("spec") or {}
    if cluster.pod_ranges and spec.get("type", "ClusterIP") == "ClusterIP" and spec.get("selector"):
        found = ready_pods(
            service, port, cluster.slices.get((namespace, ref["name"]), []), cluster.pod_ranges
        )
        if found is None:
            return invalid, f"Service {namespace}/{ref['name']} has no port {port}"
        target, pods = found
        return Backend("", target, weight, pods), None
    address = (
        loopback_literal(spec.get("externalName", ""))
        if spec.get("type") == "ExternalName"
        else None
    )
    if address is None:
        return invalid, (
            f"Service {namespace}/{ref['name']} is neither an ExternalName Service on a loopback "
            "address nor a Service selecting pods on the real node's bridge"
        )
    if port not in [p.get("port") for p in spec.get("ports") or []]:
        return invalid, f"Service {namespace}/{ref['name']} has no port {port}"
    return Backend(address, port, weight), None


def attached_listeners(
    parent: dict[str, Any], route_ns: str, gateways: dict[tuple[str, str], dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None] | None:
    """The listeners of one of our Gateways a parentRef attaches to; None if not ours."""
    if (
        parent.get("group", GATEWAY_GROUP) != GATEWAY_GROUP
        or parent.get("kind", "Gateway") != "Gateway"
    ):
        return None
    key = (parent.get("namespace", route_ns), parent["name"])
    gateway = gateways.get(key)
    if gateway is None:
        return None
    listeners = []
    for listener in gateway["spec"].get("listeners") or []:
        if parent.get("sectionName") and parent["sectionName"] != listener["name"]:
            continue
        if parent.get("port") and int(parent["port"]) != listener["port"]:
            continue
        if listener.get("protocol") != "HTTP":
            continue
        allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get(
            "from", "Same"
        )
        if allowed == "Same" and route_ns != key[0]:
            continue
        if allowed not in ("Same", "All"):
            continue
        listeners.append(listener)
    if not listeners:
        return [], "no HTTP listener of this Gateway admits the route"
    return listeners, None


def build_table(
    classes: list[dict[str, Any]],
    gateways: list[dict[str, Any]],
    routes: list[dict[str, Any]],
    services: list[dict[str, Any]],
    endpoint_slices: list[dict[str, Any]] = (),  # type: ignore[assignment]
    pod_ranges: tuple[Network, ...] = (),
) -> Table:
    ours = {c["metadata"]["name"] for c in classes if c["spec"].get("controllerName") == CONTROLLER}
    our_gateways = {
        (g["metadata"]["namespace"], g["metadata"]["name"]): g
        for g in gateways
        if g["spec"].get("gatewayClassName") in ours
    }
    slices: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for endpoint_slice in endpoint_slices:
        meta = endpoint_slice["metadata"]
        owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            slices.setdefault((meta["namespace"], owner), []).append(endpoint_slice)
    cluster = Cluster(
        {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services},
        slices,
        pod_ranges,
    )
    table = Table(pod_ranges=pod_ranges)
    for (ns, name), gateway in our_gateways.items():
        ports = sorted(
            {
                local_port(li["port"])
                for li in gateway["spec"].get("listeners") or []
                if li.get("protocol") == "HTTP"
            }
        )
        table.gateways[f"{ns}/{name}"] = ports
        for port in ports:
            table.listeners.setdefault(port, [])
    for route in routes:
        meta, spec = route["metadata"], route.get("spec") or {}
        route_key = f"{meta['namespace']}/{meta['name']}"
        for parent in spec.get("parentRefs") or []:
            attached = attached_listeners(parent, meta["namespace"], our_gateways)
            if attached is None:
                continue
            parent_key = f"{parent.get('namespace', meta['namespace'])}/{parent['name']}"
            verdict = table.verdicts.setdefault(route_key, {}).setdefault(
                parent_key, RouteVerdict()
            )
            listeners, refusal = attached
            if refusal:
                verdict.accepted, verdict.accepted_reason = False, "NotAllowedByListeners"
                verdict.accepted_message = refusal
                continue
            rules = rules_of(route, verdict, cluster)
            for listener in listeners:
                hostnames = tuple(spec.get("hostnames") or ())
                if listener.get("hostname"):
                    hostnames = hostnames or (listener["hostname"],)
                table.listeners[local_port(listener["port"])] += [
                    replace(rule, hostnames=hostnames) for rule in rules
                ]
    for rules in table.listeners.values():
        rules.sort(key=precedence)
    return table


def rules_of(route: dict[str, Any], verdict: RouteVerdict, cluster: Cluster) -> list[Rule]:
    meta = route["metadata"]
    rules = []
    problems = []
    for rule in route["spec"].get("rules") or []:
        backends = []
        for ref in rule.get("backendRefs") or []:
            backend, problem = resolve_backend(ref, meta["namespace"], cluster)
            backends.append(backend)
            if problem:
                problems.append(problem)
        for match in rule.get("matches") or [{}]:
            path = match.get("path") or {"type": "PathPrefix", "value": "/"}
            if path.get("type", "PathPrefix") not in ("PathPrefix", "Exact") or set(match) - {
                "path"
            }:
                verdict.accepted, verdict.accepted_reason = False, "UnsupportedValue"
                verdict.accepted_message = "only Exact and PathPrefix path matches are supported"
                return []
            rules.append(
                Rule(
                    route=f"{meta['namespace']}/{meta['name']}",
                    created=meta.get("creationTimestamp", ""),
                    hostnames=(),
                    path_type=path.get("type", "PathPrefix"),
                    path=path.get("value", "/"),
                    backends=list(backends),
                )
            )
    if problems:
        verdict.resolved, verdict.resolved_reason = False, "BackendNotFound"
        verdict.resolved_message = "; ".join(problems)[:1000]
    return rules


def precedence(rule: Rule) -> tuple[int, int, int, str, str]:
    """Gateway API order: exact paths, then longer prefixes, then hostnames, then the oldest."""
    return (
        0 if rule.path_type == "Exact" else 1,
        -len(rule.path),
        0 if rule.hostnames else 1,
        rule.created,
        rule.route,
    )


# ---------------------------------------------------------------------------------------------
# The routing table as haproxy.cfg (pure).


def haproxy_weights(weights: list[int]) -> list[int]:
    """Gateway API weights (0..1000000) scaled into HAProxy's 0..256, keeping every ratio."""
    top = max(weights, default=0)
    if top <= HAPROXY_MAX_WEIGHT:
        return weights
    return [max(1, round(w * HAPROXY_MAX_WEIGHT / top)) if w else 0 for w in weights]


# Errors HAProxy itself answers, as the services answer theirs: RFC 9457 problem+json with the
# platform's stable type URNs (a client matches on `type`, never on an HTML page).
GATEWAY_ERRORS = {
    400: ("bad-request", "The gateway could not read the request"),
    403: ("forbidden", "Refused by the gateway"),
    405: ("method-not-allowed", "Method not allowed"),
    408: ("request-timeout", "The request took too long to arrive"),
    410: ("gone", "Gone"),
    413: ("payload-too-large", "Request body too large"),
    425: ("too-early", "Too early"),
    429: ("too-many-requests", "Too many requests"),
    500: ("gateway-error", "The gateway failed"),
    501: ("not-implemented", "Not implemented"),
    502: ("bad-gateway", "The service answered badly"),
    # 503 is the `http-error status 503` rule of the defaults: problem+json with Retry-After.
    504: ("gateway-timeout", "The service did not answer in time"),
}


def problem_json(status: int, slug: str, title: str) -> str:
    """One problem document; no single quote in it (it may sit in a single-quoted string)."""
    text = json.dumps(
        {"type": f"urn:messaging:problem:{slug}", "title": title, "status": status},
        separators=(",", ":"),
    )
    assert "'" not in text
    return text


def problem_reply(status: int, slug: str, title: str) -> str:
    return (
        f"status {status} content-type application/problem+json "
        f"string '{problem_json(status, slug, title)}'"
    )


def error_files() -> dict[str, bytes]:
    """`errors/<status>.http` -> the whole HTTP answer HAProxy sends for its own errors (an
    errorfile covers requests it could not even parse, which `http-error` does not).
    hack/stack/gateway.py writes them beside haproxy.cfg."""
    files = {}
    for status, (slug, title) in GATEWAY_ERRORS.items():
        body = problem_json(status, slug, title).encode()
        head = (
            f"HTTP/1.1 {status} {title}\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-cache\r\n"
            "Connection: close\r\n\r\n"
        )
        files[f"errors/{status}.http"] = head.encode() + body
    return files


def render(table: Table, state: Path) -> str:
    lines = [
        "# Generated by hack/stack/gateway.py from the Gateway API objects; do not edit.",
        "global",
        f"  stats socket {state}/haproxy.sock mode 600 level admin",
        "  nbthread 1",
        "defaults",
        "  mode http",
        "  option http-server-close",
        # A reload (every weight change) soft-stops the old worker: without this it closes the
        # idle kept-alive client connections, and a request already on its way is lost. With it,
        # each one gets its next answer (marked Connection: close) from the old worker first.
        "  option idle-close-on-response",
        # A dead backend is a fast error the client retries, not a stall (issue 23). Every
        # server is on loopback: a connect takes microseconds, so 500 ms is generous, and it
        # also bounds HAProxy's pause before a retry (min(1 s, timeout connect)). A refused
        # connect is retried once, on another server of the rule when there is one (stable
        # and canary, new and legacy); health checks every second (every 250 ms once one
        # failed) take a dead server out after one failure and back after one success.
        # With no server left the answer is at once a 503 problem with Retry-After.
        "  timeout connect 500ms",
        "  timeout client 60s",
        "  timeout server 60s",
        "  timeout tunnel 1h",
        *(
            f"  errorfile {status} {state}/errors/{status}.http"
            for status in sorted(GATEWAY_ERRORS)
        ),
        "  retries 1",
        "  option redispatch 1",
        "  default-server inter 1s fastinter 250ms downinter 500ms fall 1 rise 1",
        "  http-error status 503 content-type application/problem+json"
        f" string '{UNAVAILABLE_PROBLEM}' hdr Retry-After 1",
        "",
        "frontend metrics",
        f"  bind {BIND_ADDRESS}:{METRICS_PORT}",
        "  http-request use-service prometheus-exporter if { path /metrics }",
        "  http-request return status 404",
        "",
        "frontend invalid_backend",
        f"  bind {BIND_ADDRESS}:{INVALID_BACKEND_PORT}",
        "  http-request return "
        + problem_reply(500, "no-valid-backend", "This route has no valid backend"),
        "",
        "backend no_route",
        "  http-request return " + problem_reply(404, "not-found", "No route for this path"),
    ]
    for port, rules in sorted(table.listeners.items()):
        lines += ["", f"frontend listener_{port}", f"  bind {BIND_ADDRESS}:{port}"]
        lines.append('  http-response set-header X-Gateway "messaging-local-haproxy"')
        backends: list[str] = []
        for index, rule in enumerate(rules):
            name = f"l{port}_r{index}"
            conditions = []
            if rule.path_type == "Exact":
                lines.append(f"  acl {name}_path path {quote(rule.path)}")
            else:
                prefix = rule.path.rstrip("/")
                if prefix:
                    lines.append(f"  acl {name}_path path {quote(prefix)}")
                    lines.append(f"  acl {name}_path path_beg {quote(prefix + '/')}")
                else:
                    lines.append(f"  acl {name}_path always_true")
            conditions.append(f"{name}_path")
            if rule.hostnames:
                for host in rule.hostnames:
                    if host.startswith("*."):
                        lines.append(
                            f"  acl {name}_host req.hdr(host),field(1,:) -m end -i {host[1:]}"
                        )
                    else:
                        lines.append(f"  acl {name}_host req.hdr(host),field(1,:) -m str -i {host}")
                conditions.append(f"{name}_host")
            lines.append(f"  use_backend {name} if {' '.join(conditions)}")
            backends += backend_section(name, rule, table.pod_ranges)
        lines.append("  default_backend no_route")
        lines += backends
    return "\n".join(lines) + "\n"


def server_weights(backends: list[Backend]) -> list[int]:
    """One HAProxy weight per server: a backendRef's weight shared among its servers, so that
    each backendRef keeps its share however many pods it has (an invalid ref: one server)."""
    shares = [b.weight / max(1, len(b.servers())) if b.valid else float(b.weight) for b in backends]
    top = max(shares, default=0)
    if not top:
        return [0 for _ in backends]
    scale = HAPROXY_MAX_WEIGHT / top
    return [max(1, round(share * scale)) if share else 0 for share in shares]


def backend_section(name: str, rule: Rule, pod_ranges: tuple[Network, ...] = ()) -> list[str]:
    lines = [
        "",
        f"backend {name}",
        f"  # {rule.route} {rule.path_type} {rule.path}",
        "  balance roundrobin",
    ]
    if not any(b.weight for b in rule.backends):
        return [*lines, f"  server invalid {BIND_ADDRESS}:{INVALID_BACKEND_PORT}"]
    weights = (
        server_weights(rule.backends)
        if any(b.pods is not None for b in rule.backends)
        else haproxy_weights([b.weight for b in rule.backends])
    )
    for index, (backend, weight) in enumerate(zip(rule.backends, weights, strict=True)):
        if not backend.valid:
            servers, port = (BIND_ADDRESS,), INVALID_BACKEND_PORT
        else:
            servers, port = backend.servers(), backend.port
        for number, address in enumerate(servers):
            # Never reached by construction (resolve_backend filters); a last guard.
            if not (ipaddress.ip_address(address).is_loopback or in_ranges(address, pod_ranges)):
                raise ValueError(f"refusing to render server {address}: neither loopback nor a pod")
            target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
            server = f"b{index}" if backend.pods is None else f"b{index}_{number}"
            lines.append(f"  server {server} {target} weight {weight} check")
    return lines


def quote(value: str) -> str:
    if any(ch.isspace() or ch in "\"'\\#" for ch in value):
        raise ValueError(f"path {value!r} cannot be expressed in haproxy.cfg")
    return value
