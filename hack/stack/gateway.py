"""The local stack's gateway: HAProxy (Debian's package) programmed from Gateway API objects.

A small Gateway API controller. It serves the Gateways whose GatewayClass names CONTROLLER,
renders the HTTPRoutes attached to them (path matches, hostnames, weighted backendRefs, which is
what the operator writes) into haproxy.cfg, reloads HAProxy when the file changes, and writes
the Gateway and HTTPRoute status a controller owes. Traefik's Kubernetes Gateway provider was the
first choice; see hack/stack/README.md for why it cannot be built here.

Only loopback addresses are ever configured: a backendRef resolves only to a Service of type
ExternalName whose name is a loopback IP literal (the operator's `spec.endpoints.mode: local`
makes those). Any other backend (a Service with pods, whose addresses here are kwok bookkeeping)
is refused: its share of the route answers 500, as the Gateway API asks for invalid backends.

    python hack/stack/gateway.py --kubeconfig FILE --state DIR [--interval 1]
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

CONTROLLER = "messaging.platform.dev/local-haproxy"
GATEWAY_GROUP = "gateway.networking.k8s.io"
BIND_ADDRESS = "127.0.0.1"
# A privileged listener port (80, 443) is served on this offset (8080) so nothing needs root.
PRIVILEGED_PORT_OFFSET = 8000
# The loopback port answering 500 for a route's share that has no valid backend.
INVALID_BACKEND_PORT = 18099
METRICS_PORT = 18404
HAPROXY_MAX_WEIGHT = 256
HAPROXY = "/usr/sbin/haproxy"  # Debian's package

log = logging.getLogger("gateway")


# ---------------------------------------------------------------------------------------------
# The API server: the admin kubeconfig of the local control plane (client certificate).


class Kube:
    def __init__(self, kubeconfig: Path, state: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(
            c["cluster"] for c in config["clusters"] if c["name"] == context["context"]["cluster"]
        )
        user = next(u["user"] for u in config["users"] if u["name"] == context["context"]["user"])
        server = cluster["server"]
        host = httpx.URL(server).host
        if not ipaddress.ip_address(host).is_loopback:
            raise SystemExit(f"gateway: refusing a non-loopback API server {server}")
        files = {}
        for key in ("certificate-authority", "client-certificate", "client-key"):
            path = state / f"{key}.pem"
            path.write_bytes(base64.b64decode(cluster.get(f"{key}-data") or user[f"{key}-data"]))
            path.chmod(0o600)
            files[key] = str(path)
        tls = ssl.create_default_context(cafile=files["certificate-authority"])
        tls.load_cert_chain(files["client-certificate"], files["client-key"])
        self.client = httpx.Client(base_url=server, verify=tls, timeout=10)

    def items(self, path: str) -> list[dict[str, Any]]:
        response = self.client.get(path)
        if response.status_code == 404:  # the Gateway API CRDs are not installed
            return []
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def patch_status(self, path: str, status: dict[str, Any]) -> None:
        response = self.client.patch(
            f"{path}/status",
            content=json.dumps({"status": status}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code not in (200, 404, 409):
            log.warning("status patch of %s: HTTP %s %s", path, response.status_code, response.text)


# ---------------------------------------------------------------------------------------------
# From Gateway API objects to a routing table (pure functions).


@dataclass(frozen=True)
class Backend:
    address: str  # loopback IP literal, or "" when the ref is invalid (its share answers 500)
    port: int
    weight: int


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


def resolve_backend(
    ref: dict[str, Any], namespace: str, services: dict[tuple[str, str], dict[str, Any]]
) -> tuple[Backend, str | None]:
    """A backendRef as a loopback address, or an invalid Backend and why."""
    weight = int(ref.get("weight", 1))
    port = int(ref.get("port") or 0)
    invalid = Backend("", 0, weight)
    if ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
        return invalid, f"{ref.get('kind')} {ref.get('name')}: only Services are supported"
    if ref.get("namespace", namespace) != namespace:
        return invalid, f"Service {ref['name']}: cross-namespace refs need a ReferenceGrant"
    service = services.get((namespace, ref["name"]))
    if service is None:
        return invalid, f"Service {namespace}/{ref['name']} not found"
    spec = service.get("spec") or {}
    address = (
        loopback_literal(spec.get("externalName", ""))
        if spec.get("type") == "ExternalName"
        else None
    )
    if address is None:
        return invalid, (
            f"Service {namespace}/{ref['name']} is not an ExternalName Service on a loopback "
            "address; this gateway never routes to pod or cluster IPs"
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
) -> Table:
    ours = {c["metadata"]["name"] for c in classes if c["spec"].get("controllerName") == CONTROLLER}
    our_gateways = {
        (g["metadata"]["namespace"], g["metadata"]["name"]): g
        for g in gateways
        if g["spec"].get("gatewayClassName") in ours
    }
    by_name = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
    table = Table()
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
            rules = rules_of(route, verdict, by_name)
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


def rules_of(
    route: dict[str, Any], verdict: RouteVerdict, services: dict[tuple[str, str], dict[str, Any]]
) -> list[Rule]:
    meta = route["metadata"]
    rules = []
    problems = []
    for rule in route["spec"].get("rules") or []:
        backends = []
        for ref in rule.get("backendRefs") or []:
            backend, problem = resolve_backend(ref, meta["namespace"], services)
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


def render(table: Table, state: Path) -> str:
    lines = [
        "# Generated by hack/stack/gateway.py from the Gateway API objects; do not edit.",
        "global",
        f"  stats socket {state}/haproxy.sock mode 600 level admin",
        "  nbthread 1",
        "defaults",
        "  mode http",
        "  option http-server-close",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        "  timeout tunnel 1h",
        "",
        "frontend metrics",
        f"  bind {BIND_ADDRESS}:{METRICS_PORT}",
        "  http-request use-service prometheus-exporter if { path /metrics }",
        "  http-request return status 404",
        "",
        "frontend invalid_backend",
        f"  bind {BIND_ADDRESS}:{INVALID_BACKEND_PORT}",
        '  http-request return status 500 content-type text/plain string "no valid backend"',
        "",
        "backend no_route",
        '  http-request return status 404 content-type text/plain string "no route"',
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
            backends += backend_section(name, rule)
        lines.append("  default_backend no_route")
        lines += backends
    return "\n".join(lines) + "\n"


def backend_section(name: str, rule: Rule) -> list[str]:
    lines = [
        "",
        f"backend {name}",
        f"  # {rule.route} {rule.path_type} {rule.path}",
        "  balance roundrobin",
    ]
    weights = haproxy_weights([b.weight for b in rule.backends])
    if not any(weights):
        return [*lines, f"  server invalid {BIND_ADDRESS}:{INVALID_BACKEND_PORT}"]
    for index, (backend, weight) in enumerate(zip(rule.backends, weights, strict=True)):
        address = backend.address or BIND_ADDRESS
        port = backend.port if backend.address else INVALID_BACKEND_PORT
        if not ipaddress.ip_address(address).is_loopback:  # never, by construction; a last guard
            raise ValueError(f"refusing to render a non-loopback server {address}")
        target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        lines.append(f"  server b{index} {target} weight {weight}")
    return lines


def quote(value: str) -> str:
    if any(ch.isspace() or ch in "\"'\\#" for ch in value):
        raise ValueError(f"path {value!r} cannot be expressed in haproxy.cfg")
    return value


# ---------------------------------------------------------------------------------------------
# Status the controller owes: GatewayClass Accepted, Gateway Programmed, HTTPRoute parents.


def condition(kind: str, ok: bool, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def same_conditions(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    def strip(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                c.get("type"),
                c.get("status"),
                c.get("reason"),
                c.get("message"),
                c.get("observedGeneration"),
            )
            for c in items
        )

    return strip(old) == strip(new)


def write_statuses(
    kube: Kube,
    table: Table,
    classes: list[dict[str, Any]],
    gateways: list[dict[str, Any]],
    routes: list[dict[str, Any]],
) -> None:
    for gc in classes:
        if gc["spec"].get("controllerName") != CONTROLLER:
            continue
        gen = gc["metadata"].get("generation", 1)
        new = [condition("Accepted", True, "Accepted", "served by the local HAProxy", gen)]
        if not same_conditions((gc.get("status") or {}).get("conditions") or [], new):
            kube.patch_status(
                f"/apis/{GATEWAY_GROUP}/v1/gatewayclasses/{gc['metadata']['name']}",
                {"conditions": new},
            )
    for gw in gateways:
        meta = gw["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        if key not in table.gateways:
            continue
        gen = meta.get("generation", 1)
        ports = ", ".join(f"{BIND_ADDRESS}:{p}" for p in table.gateways[key])
        new = [
            condition("Accepted", True, "Accepted", "served by the local HAProxy", gen),
            condition("Programmed", True, "Programmed", f"listening on {ports}", gen),
        ]
        old = gw.get("status") or {}
        if not same_conditions(old.get("conditions") or [], new):
            path = (
                f"/apis/{GATEWAY_GROUP}/v1/namespaces/{meta['namespace']}/gateways/{meta['name']}"
            )
            kube.patch_status(
                path,
                {"conditions": new, "addresses": [{"type": "IPAddress", "value": BIND_ADDRESS}]},
            )
    for route in routes:
        meta = route["metadata"]
        verdicts = table.verdicts.get(f"{meta['namespace']}/{meta['name']}")
        if not verdicts:
            continue
        gen = meta.get("generation", 1)
        old_parents = (route.get("status") or {}).get("parents") or []
        others = [p for p in old_parents if p.get("controllerName") != CONTROLLER]
        mine = []
        for parent_key, verdict in sorted(verdicts.items()):
            namespace, name = parent_key.split("/", 1)
            mine.append(
                {
                    "parentRef": {
                        "group": GATEWAY_GROUP,
                        "kind": "Gateway",
                        "namespace": namespace,
                        "name": name,
                    },
                    "controllerName": CONTROLLER,
                    "conditions": [
                        condition(
                            "Accepted",
                            verdict.accepted,
                            verdict.accepted_reason,
                            verdict.accepted_message,
                            gen,
                        ),
                        condition(
                            "ResolvedRefs",
                            verdict.resolved,
                            verdict.resolved_reason,
                            verdict.resolved_message,
                            gen,
                        ),
                    ],
                }
            )
        old_mine = [p for p in old_parents if p.get("controllerName") == CONTROLLER]
        unchanged = len(old_mine) == len(mine) and all(
            o.get("parentRef", {}).get("name") == n["parentRef"]["name"]
            and same_conditions(o.get("conditions") or [], n["conditions"])
            for o, n in zip(old_mine, mine, strict=True)
        )
        if not unchanged:
            path = (
                f"/apis/{GATEWAY_GROUP}/v1/namespaces/{meta['namespace']}/httproutes/{meta['name']}"
            )
            kube.patch_status(path, {"parents": others + mine})


# ---------------------------------------------------------------------------------------------
# The loop: read, render, reload HAProxy when the file changed, report.


class HAProxy:
    """HAProxy in master-worker mode as our child; SIGUSR2 reloads it from the file."""

    def __init__(self, state: Path) -> None:
        self.config = state / "haproxy.cfg"
        self.state = state
        self.process: subprocess.Popen[bytes] | None = None

    def apply(self, text: str) -> None:
        if self.config.exists() and self.config.read_text() == text and self.running():
            return
        candidate = self.state / "haproxy.cfg.new"
        candidate.write_text(text)
        check = subprocess.run(  # noqa: S603 - our own binary and file
            [HAPROXY, "-c", "-q", "-f", str(candidate)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            log.error(
                "rendered config refused by haproxy -c; keeping the old one:\n%s", check.stderr
            )
            return
        candidate.replace(self.config)
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGUSR2)
            log.info("reloaded HAProxy")
        else:
            log_file = (self.state / "haproxy.log").open("ab")
            self.process = subprocess.Popen(  # noqa: S603
                [HAPROXY, "-W", "-f", str(self.config), "-p", str(self.state / "haproxy.pid")],
                stdout=log_file,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
            )
            log.info("started HAProxy (pid %s)", self.process.pid)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def sync(kube: Kube, haproxy: HAProxy, state: Path) -> None:
    classes = kube.items(f"/apis/{GATEWAY_GROUP}/v1/gatewayclasses")
    gateways = kube.items(f"/apis/{GATEWAY_GROUP}/v1/gateways")
    routes = kube.items(f"/apis/{GATEWAY_GROUP}/v1/httproutes")
    services = kube.items("/api/v1/services")
    table = build_table(classes, gateways, routes, services)
    haproxy.apply(render(table, state))
    write_statuses(kube, table, classes, gateways, routes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args.state.mkdir(parents=True, exist_ok=True)
    kube = Kube(args.kubeconfig, args.state)
    haproxy = HAProxy(args.state)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving GatewayClasses with controllerName %s (pid %s)", CONTROLLER, os.getpid())
    try:
        while not stopping:
            try:
                sync(kube, haproxy, args.state)
            except (httpx.HTTPError, KeyError, ValueError) as error:
                log.warning("sync failed: %s", error)
            if haproxy.process is not None and not haproxy.running():
                log.error(
                    "HAProxy exited (code %s); see %s",
                    haproxy.process.returncode,
                    args.state / "haproxy.log",
                )
                return 1
            time.sleep(args.interval)
    finally:
        haproxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
