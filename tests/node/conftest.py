"""The real node suite: the platform of `make up`, as pods on the real node (hack/node.sh), is
started when part of it is down (testkit.platform); each test changes it and puts it back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
from e2e.kit import User, register
from testkit.kube import REPO, Kubectl
from testkit.platform import GATEWAY, NAMESPACE, PLATFORM, ensure_local_platform, kubectl


@pytest.fixture(scope="session")
def platform() -> Kubectl:
    ensure_local_platform()
    return kubectl()


@pytest.fixture(scope="session")
def gateway(platform: Kubectl) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=GATEWAY, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def user(gateway: httpx.Client) -> User:
    return register(gateway, f"node{uuid.uuid4().hex[:6]}")


def patch_platform(k: Kubectl, spec: dict) -> None:
    k.run(
        "patch", "mp", PLATFORM, "-n", NAMESPACE, "--type=merge", "-p", json.dumps({"spec": spec})
    )


def ready_pods(k: Kubectl, component: str) -> list[str]:
    pods = k.json("get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={component}")
    return [
        p["metadata"]["name"]
        for p in pods["items"]
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]


def platform_ready(k: Kubectl) -> bool:
    body = k.json("get", "mp", PLATFORM, "-n", NAMESPACE)
    status = body.get("status") or {}
    ready = any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
    )
    return ready and status.get("observedGeneration") == body["metadata"]["generation"]


def tag_image(name: str, version: str) -> None:
    """The platform image NAME under another version's tag, imported into the node (no
    registry): a "new version" whose pods run the same code."""
    image = f"ghcr.io/acme/messaging/{name}"
    subprocess.run(["podman", "tag", f"{image}:1.0.0", f"{image}:{version}"], check=True)
    subprocess.run([str(REPO / "hack/node.sh"), "import", f"{image}:{version}"], check=True)


def main_container(k: Kubectl, pod: str) -> dict:
    """The status of POD's first container (the service or store; a sidecar comes after)."""
    body = k.json("get", "pod", pod, "-n", NAMESPACE)
    name = body["spec"]["containers"][0]["name"]
    return next(s for s in body["status"]["containerStatuses"] if s["name"] == name)


def kill_container(k: Kubectl, pod: str) -> int:
    """SIGKILL every process of POD's first container, as a crash: the pod stays, listed as
    ready until its probe fails, and the kubelet restarts the container. Returns its restart
    count before the kill. The processes are found by the container's id in their cgroup."""
    status = main_container(k, pod)
    container = status["containerID"].split("://", 1)[1]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as cgroups:
                if container in cgroups.read():
                    pids.append(int(entry))
        except OSError:
            continue  # gone meanwhile
    assert pids, f"no process of container {container[:12]} ({pod}) found in /proc"
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a child gone with its parent
            os.kill(pid, signal.SIGKILL)
    return int(status["restartCount"])
