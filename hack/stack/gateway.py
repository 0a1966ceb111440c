"""The local stack's gateway: HAProxy (Debian's package) programmed from Gateway API objects.

A small Gateway API controller. It serves the Gateways whose GatewayClass names CONTROLLER,
renders the HTTPRoutes attached to them (path matches, hostnames, weighted backendRefs, which is
what the operator writes) into haproxy.cfg, reloads HAProxy when the file changes, and writes
the Gateway and HTTPRoute status a controller owes. Traefik's Kubernetes Gateway provider was the
first choice; see hack/stack/README.md for why it cannot be built here.

Only loopback addresses, and with --pod-range the ready pod addresses of the real node
(hack/node.sh) inside it, are ever configured (hack/stack/gateway_config.py: the routing table
and haproxy.cfg, pure); the API server must be on loopback too.

    python hack/stack/gateway.py --kubeconfig FILE --state DIR [--interval 1] [--pod-range CIDR]
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
from pathlib import Path
from typing import Any

import httpx
import yaml
from gateway_config import (
    BIND_ADDRESS,
    CONTROLLER,
    GATEWAY_GROUP,
    Network,
    Table,
    build_table,
    error_files,
    render,
)

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
            path.touch(mode=0o600)  # the client key: never readable by others, not even briefly
            path.chmod(0o600)
            path.write_bytes(base64.b64decode(cluster.get(f"{key}-data") or user[f"{key}-data"]))
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
        for name, content in error_files().items():  # problem+json errors of its own
            path = self.state / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_bytes() != content:
                path.write_bytes(content)
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


def sync(kube: Kube, haproxy: HAProxy, state: Path, pod_ranges: tuple[Network, ...]) -> None:
    classes = kube.items(f"/apis/{GATEWAY_GROUP}/v1/gatewayclasses")
    gateways = kube.items(f"/apis/{GATEWAY_GROUP}/v1/gateways")
    routes = kube.items(f"/apis/{GATEWAY_GROUP}/v1/httproutes")
    services = kube.items("/api/v1/services")
    slices = kube.items("/apis/discovery.k8s.io/v1/endpointslices") if pod_ranges else []
    table = build_table(classes, gateways, routes, services, slices, pod_ranges)
    haproxy.apply(render(table, state))
    write_statuses(kube, table, classes, gateways, routes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--pod-range",
        type=ipaddress.ip_network,
        action="append",
        default=[],
        help="route to ready pods of Services inside this range (the real node's pods)",
    )
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
                sync(kube, haproxy, args.state, tuple(args.pod_range))
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
