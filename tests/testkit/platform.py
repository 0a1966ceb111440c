"""The platform `make up` runs as pods on the real node (hack/up.sh): started when part of it is
down, and reached the way its users reach it (the gateway, the node's Service addresses)."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from testkit.kube import KUBECONFIG, REPO, Kubectl, kube_bin_dir

NAMESPACE = os.environ.get("MP_DEMO_NAMESPACE", "demo")
PLATFORM = "chat"
GATEWAY = "http://127.0.0.1:8080"


def _quiet(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def missing_part() -> str | None:
    """What of `make up` is not running, or None."""
    if _quiet(str(REPO / "hack/node.sh"), "status").returncode != 0:
        return "the real node (hack/node.sh status)"
    if _quiet(str(REPO / "hack/stack/stack.sh"), "status").returncode != 0:
        return "a host-side process (hack/stack/stack.sh status: gateway, Prometheus, SMTP sink)"
    return None


def ensure_local_platform() -> None:
    """The platform of `make up`: used when it runs, started with hack/up.sh when part of it is
    down. The control plane is not started here: it must already run."""
    if _quiet(str(REPO / "hack/cluster.sh"), "status").returncode != 0:
        pytest.fail("the control plane is down: run `make cluster-up`", pytrace=False)
    missing = missing_part()
    if missing is None:
        return
    started = _quiet(str(REPO / "hack/up.sh"), timeout=1800)
    if started.returncode != 0 or missing_part():
        tail = "\n".join((started.stdout + started.stderr).splitlines()[-40:])
        pytest.fail(
            f"{missing} was down and hack/up.sh could not bring the platform up:\n{tail}\n"
            "fix the cause and run `make up`",
            pytrace=False,
        )


def kubectl() -> Kubectl:
    return Kubectl(f"{kube_bin_dir()}/kubectl", str(KUBECONFIG))


def postgres_url() -> str:
    """The platform's managed PostgreSQL (E2E_PG_URL overrides): its Service address on the real
    node's bridge and the admin credentials from its Secret."""
    if os.environ.get("E2E_PG_URL"):
        return os.environ["E2E_PG_URL"]
    k = kubectl()
    address = k.run(
        "get",
        "service",
        f"{PLATFORM}-postgres",
        "-n",
        NAMESPACE,
        "-o",
        "jsonpath={.spec.clusterIP}",
    )
    secret = k.json("get", "secret", f"{PLATFORM}-postgres-admin", "-n", NAMESPACE)
    password = base64.b64decode(secret["data"]["password"]).decode()
    return f"postgresql://postgres:{password}@{address}:5432/postgres"
