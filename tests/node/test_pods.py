"""Every image of the platform runs on the real node: each pod started from our own images
(imported, never pulled) is Ready through its readiness probe, runs as a non-root user, and
cannot write its root filesystem. Checked inside the running containers (kubectl exec), not
read off the pod specs."""

from __future__ import annotations

import pytest
from testkit.kube import Kubectl
from testkit.platform import NAMESPACE

pytestmark = [pytest.mark.node]

# The images `make images` builds that the platform of `make up` runs (the operator elsewhere).
EXPECTED = {
    "auth", "users", "messages", "groups", "media", "relay", "notifications", "websocket",
    "web", "monolith", "postgres", "redis", "rabbitmq", "minio",
}  # fmt: skip


def running_pods(k: Kubectl, namespace: str) -> list[dict]:
    pods = k.json("get", "pods", "-n", namespace)["items"]
    # A pod on its way out (another test scaled its Deployment down) is not the platform's.
    return [
        p
        for p in pods
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]


def component(pod: dict) -> str:
    return pod["metadata"]["labels"].get("app.kubernetes.io/name", pod["metadata"]["name"])


def test_every_image_runs_ready_as_non_root_on_a_read_only_root(platform: Kubectl) -> None:
    pods = running_pods(platform, NAMESPACE) + running_pods(platform, "messaging-local")
    seen = {component(p) for p in pods}
    assert EXPECTED | {"messaging-operator"} <= seen, f"missing: {EXPECTED - seen}"
    for pod in pods:
        name = pod["metadata"]["name"]
        namespace = pod["metadata"]["namespace"]
        statuses = pod["status"]["containerStatuses"]
        assert all(s["ready"] for s in statuses), f"{name} is not ready: {statuses}"
        # Started from the imported image: the node holds it, so the kubelet never pulled.
        for container in pod["spec"]["containers"]:
            assert container.get("imagePullPolicy") in ("Never", "IfNotPresent"), name
        # Ready means each readiness probe passed; every workload but the web client has one.
        if component(pod) not in ("web",):
            assert any("readinessProbe" in c for c in pod["spec"]["containers"]), name
        uid = platform.run("exec", "-n", namespace, name, "--", "id", "-u").strip()
        assert uid != "0", f"{name} runs as root"
        wrote = platform.run(
            "exec",
            "-n",
            namespace,
            name,
            "--",
            "sh",
            "-c",
            "touch /probe 2>&1; echo rc=$?",
            check=False,
        )
        assert "Read-only file system" in wrote, f"{name} could write its root: {wrote}"


def test_pods_resolve_cluster_names_and_nothing_else(platform: Kubectl) -> None:
    """CoreDNS on the node answers cluster names; any other name is NXDOMAIN, so nothing in a
    pod can even find an address off the machine."""
    pod = next(p for p in running_pods(platform, NAMESPACE) if component(p) == "users")
    name = pod["metadata"]["name"]
    script = (
        "import socket\n"
        "print(socket.gethostbyname('chat-postgres.demo.svc.cluster.local'))\n"
        "try:\n"
        "    socket.gethostbyname('example.com')\n"
        "    print('resolved')\n"
        "except OSError:\n"
        "    print('unresolved')\n"
    )
    out = platform.run("exec", "-n", NAMESPACE, name, "--", "python", "-c", script).split()
    assert out[0].startswith("198.19."), out  # the Service range on the node's bridge
    assert out[1] == "unresolved", out
