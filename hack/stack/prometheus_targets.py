"""Prometheus's targets among the real node's pods, as a file_sd file (Debian's Prometheus is
built without Kubernetes service discovery): every Running pod of the platform in NAMESPACE with
a container port named `http`, on the node's pod range only, labelled by service.

    python hack/stack/prometheus_targets.py --kubeconfig FILE --namespace NS --out FILE
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

from gateway import Kube

POD_RANGE = ipaddress.ip_network("198.18.0.0/24")
# The pod label that names the component; the legacy stand-in is labelled monolith.
NAME_LABEL = "app.kubernetes.io/name"
SERVICE_NAMES = {"monolith": "legacy"}
log = logging.getLogger("prometheus-targets")


def targets(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """file_sd groups: one per pod, `service` and `pod` labels (pure)."""
    groups = []
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        name = labels.get(NAME_LABEL)
        address = (pod.get("status") or {}).get("podIP", "")
        if (
            labels.get("app.kubernetes.io/part-of") != "messaging-platform"
            or not name
            or name == "web"
            or (pod.get("status") or {}).get("phase") != "Running"
            or not address
            or ipaddress.ip_address(address) not in POD_RANGE
        ):
            continue
        ports = [
            p["containerPort"]
            for c in pod["spec"].get("containers") or []
            for p in c.get("ports") or []
            if p.get("name") == "http"
        ]
        if not ports:
            continue
        service = SERVICE_NAMES.get(name, name)
        groups.append(
            {
                "targets": [f"{address}:{ports[0]}"],
                "labels": {
                    "service": service,
                    "pod": pod["metadata"]["name"],
                    "job": "legacy" if service == "legacy" else "services",
                },
            }
        )
    return sorted(groups, key=lambda g: g["labels"]["pod"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--out", type=Path, required=True)
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
    last = None
    while not stopping:
        try:
            text = json.dumps(targets(kube.items(f"/api/v1/namespaces/{args.namespace}/pods")))
            if text != last:
                # Written aside and renamed: Prometheus never reads half a file.
                args.out.with_suffix(".tmp").write_text(text)
                args.out.with_suffix(".tmp").rename(args.out)
                last = text
        except Exception as error:  # keep serving; the next poll retries
            log.warning("listing pods failed: %s", error)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
