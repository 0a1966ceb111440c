"""Prometheus's targets among the real node's pods, as a file_sd file (Debian's Prometheus is
built without Kubernetes service discovery): every Running pod of the platform in NAMESPACE with
a container port named `http`, on the node's pod range only, labelled by service; and, in a
second file, the gateway's Envoy pods (Envoy Gateway's proxies, their `metrics` port).

    python hack/stack/prometheus_targets.py --kubeconfig FILE --namespace NS --out FILE \
        --gateway-out FILE
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kube_api import Kube

POD_RANGE = ipaddress.ip_network("198.18.0.0/24")
# The pod label that names the component; the legacy stand-in is labelled monolith.
NAME_LABEL = "app.kubernetes.io/name"
SERVICE_NAMES = {"monolith": "legacy"}
# Envoy Gateway runs its proxies in its own namespace, labelled as its proxies.
GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_SELECTOR = "app.kubernetes.io/component=proxy,app.kubernetes.io/managed-by=envoy-gateway"
log = logging.getLogger("prometheus-targets")


def running_address(pod: dict[str, Any]) -> str | None:
    """The pod's address if it runs on the real node's pod range (kwok's are bookkeeping)."""
    status = pod.get("status") or {}
    address = status.get("podIP", "")
    if status.get("phase") != "Running" or not address:
        return None
    return address if ipaddress.ip_address(address) in POD_RANGE else None


def port_named(pod: dict[str, Any], name: str) -> int | None:
    ports = [
        p["containerPort"]
        for c in pod["spec"].get("containers") or []
        for p in c.get("ports") or []
        if p.get("name") == name
    ]
    return ports[0] if ports else None


def targets(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """file_sd groups: one per pod, `service` and `pod` labels (pure)."""
    groups = []
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        name = labels.get(NAME_LABEL)
        address = running_address(pod)
        port = port_named(pod, "http")
        if (
            labels.get("app.kubernetes.io/part-of") != "messaging-platform"
            or not name
            or name == "web"
            or not address
            or not port
        ):
            continue
        service = SERVICE_NAMES.get(name, name)
        groups.append(
            {
                "targets": [f"{address}:{port}"],
                "labels": {
                    "service": service,
                    "pod": pod["metadata"]["name"],
                    "job": "legacy" if service == "legacy" else "services",
                },
            }
        )
    return sorted(groups, key=lambda g: g["labels"]["pod"])


def gateway_targets(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """file_sd groups for Envoy's stats (/stats/prometheus on its `metrics` port), one per pod."""
    groups = []
    for pod in pods:
        address, port = running_address(pod), port_named(pod, "metrics")
        if address and port:
            groups.append(
                {
                    "targets": [f"{address}:{port}"],
                    "labels": {"service": "gateway", "pod": pod["metadata"]["name"]},
                }
            )
    return sorted(groups, key=lambda g: g["labels"]["pod"])


def write_if_changed(path: Path, text: str, last: dict[Path, str]) -> None:
    if last.get(path) == text:
        return
    # Written aside and renamed: Prometheus never reads half a file.
    path.with_suffix(".tmp").write_text(text)
    path.with_suffix(".tmp").rename(path)
    last[path] = text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--gateway-out", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    state = args.out.parent / "kube"
    state.mkdir(parents=True, exist_ok=True)
    kube = Kube(args.kubeconfig, state)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last: dict[Path, str] = {}
    while not stopping:
        try:
            pods = kube.items(f"/api/v1/namespaces/{args.namespace}/pods")
            write_if_changed(args.out, json.dumps(targets(pods)), last)
            proxies = kube.items(
                f"/api/v1/namespaces/{GATEWAY_NAMESPACE}/pods?labelSelector={GATEWAY_SELECTOR}"
            )
            write_if_changed(args.gateway_out, json.dumps(gateway_targets(proxies)), last)
        except Exception as error:  # keep serving; the next poll retries
            log.warning("listing pods failed: %s", error)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
