"""Fixtures for suites that talk to the local control plane started by `make cluster-up`."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from testkit.kube import KUBECONFIG, Kubectl, kube_bin_dir


@pytest.fixture(scope="session")
def kubectl() -> Kubectl:
    if not KUBECONFIG.exists():
        pytest.fail(f"no kubeconfig at {KUBECONFIG}: run `make cluster-up` first")
    k = Kubectl(f"{kube_bin_dir()}/kubectl", str(KUBECONFIG))
    ready = subprocess.run(
        [*k.base, "get", "--raw", "/readyz"], capture_output=True, text=True, timeout=10
    )
    if ready.returncode != 0:
        pytest.fail(
            "the local kube-apiserver does not answer on https://127.0.0.1:16443 "
            f"({ready.stderr.strip()}): run `make cluster-up`"
        )
    return k


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
