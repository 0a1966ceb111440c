"""A platform whose images cannot be had says so in `kubectl get mp` within 10 s: the node's
containerd sends every pull to a closed loopback port (hack/node.sh), so a missing image fails
at once, as on a cluster whose registry refuses it, and nothing leaves the machine."""

from __future__ import annotations

import time

import pytest
from testkit.kube import Kubectl
from testkit.platform import NAMESPACE

pytestmark = [pytest.mark.node]

REPORTED_WITHIN = 10.0


def test_an_unpullable_image_shows_in_kubectl_get_mp(platform: Kubectl) -> None:
    # Beside the demo platform, in its namespace: the operator of `make up` watches that one.
    body = {
        "apiVersion": "messaging.platform.dev/v1alpha1",
        "kind": "MessagingPlatform",
        "metadata": {"name": "nopull"},
        "spec": {
            "version": "1.0.0",
            "imageRepository": "registry.invalid/nothing-here",
            "deletionPolicy": "Delete",
            "services": {"relay": {"replicas": 1}},
        },
    }
    try:
        platform.apply(body, NAMESPACE)
        began = time.monotonic()
        line = ""
        while time.monotonic() - began < 60:
            line = platform.run("get", "mp", "nopull", "-n", NAMESPACE, "--no-headers")
            if "ImagePull" in line or "ErrImage" in line:
                break
            time.sleep(0.5)
        took = time.monotonic() - began
        print(f"kubectl get mp named the pull failure {took:.1f} s after the apply: {line.strip()}")
        assert "ImagePull" in line or "ErrImage" in line, line
        assert took <= REPORTED_WITHIN, f"{took:.1f} s: {line}"
    finally:
        platform.run("delete", "mp", "nopull", "-n", NAMESPACE, "--wait=false", check=False)
