"""Two operator replicas with kopf peering: one works, the other waits, then takes over."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.cluster

PEERING = "messaging-operator-test"


def _writers(kube, ns, since):
    """The user agents (one per process: it carries the pid) of the operator's writes."""
    return {
        w["userAgent"]
        for w in kube.audit_writes(ns, since)
        if w.get("userAgent", "").startswith("messaging-operator/")
    }


def test_two_replicas_never_fight_and_hand_over(
    kube, operator, start_operator, make_namespace, minimal_sample
):
    peering = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering",
               "metadata": {"name": PEERING}}  # fmt: skip
    kube.run("apply", "-f", "-", stdin=json.dumps(peering))
    operator.stop()  # the shared standalone operator would be a third, unpeered writer
    replicas = []
    try:
        env = {"MESSAGING_OPERATOR_PEERING": PEERING}
        high = start_operator({**env, "MESSAGING_OPERATOR_PRIORITY": "200"})
        replicas.append(high)
        low = start_operator({**env, "MESSAGING_OPERATOR_PRIORITY": "100"})
        replicas.append(low)
        assert high.process is not None
        assert low.process is not None
        time.sleep(3)  # peers see each other; the lower one pauses
        ns = make_namespace()
        since = kube.now()
        kube.apply(ns, minimal_sample)
        kube.wait_for(
            lambda: (kube.platform(ns).get("status") or {}).get("phase") == "Ready",
            90,
            "Ready with two replicas",
        )
        writers = _writers(kube, ns, since)
        assert writers == {f"messaging-operator/0.1 (pid {high.process.pid})"}

        high.stop()  # a graceful exit leaves the peering at once
        handed_over = kube.now()
        kube.run("delete", "deploy", "chat-auth", "-n", ns, "--wait=false")
        kube.wait_for(
            lambda: (
                kube.run("get", "deploy", "chat-auth", "-n", ns, check=False).returncode == 0
                and _writers(kube, ns, handed_over)
            ),
            30,
            "the remaining replica to repair the Deployment",
        )
        assert _writers(kube, ns, handed_over) == {
            f"messaging-operator/0.1 (pid {low.process.pid})"
        }
    finally:
        for process in replicas:
            process.stop()
        operator.start()
