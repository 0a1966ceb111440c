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


def _repair_writers(kube, ns, deployment, what):
    """Delete a Deployment, wait until it is back, and return who wrote in the namespace since."""
    since = kube.now()
    kube.run("delete", "deploy", deployment, "-n", ns, "--wait=false")
    kube.wait_for(
        lambda: kube.run("get", "deploy", deployment, "-n", ns, check=False).returncode == 0,
        15,
        what,
    )
    return _writers(kube, ns, since)


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
        # kopf starts paused and stays so (silently) while a higher priority peer is alive.
        kube.wait_for(
            lambda: len(kube.json("get", "clusterkopfpeering", PEERING).get("status") or {}) >= 2,
            20,
            "both replicas in the peering object",
        )
        assert "Resuming operations" not in low.logs()
        high_agent = f"messaging-operator/0.1 (pid {high.process.pid})"
        low_agent = f"messaging-operator/0.1 (pid {low.process.pid})"
        ns = make_namespace()
        since = kube.now()
        kube.apply(ns, minimal_sample)
        kube.wait_for(
            lambda: (kube.platform(ns).get("status") or {}).get("phase") == "Ready",
            90,
            "Ready with two replicas",
        )
        # Another operator may run on this machine (`make up` starts one for all namespaces);
        # the claim is about these two: the paused one never wrote.
        writers = _writers(kube, ns, since)
        assert low_agent not in writers
        if not writers - {high_agent, low_agent}:  # no foreign operator did the work first
            assert high_agent in writers

        high.stop()  # a graceful exit takes it out of the peering at once
        kube.wait_for(
            lambda: "Resuming operations after the pause" in low.logs(), 30, "the hand-over"
        )
        writers = _repair_writers(
            kube, ns, "chat-auth", "the Deployment repaired after the hand-over"
        )
        assert high_agent not in writers
        if writers - {low_agent} == set():  # no foreign operator raced it to the repair
            assert low_agent in writers

        # A replica killed outright says no goodbye: its record must expire (peering lifetime
        # 12 s, MESSAGING_OPERATOR_PEERING_LIFETIME) before the next one resumes.
        top = start_operator({**env, "MESSAGING_OPERATOR_PRIORITY": "300"})
        replicas.append(top)
        assert top.process is not None
        top_agent = f"messaging-operator/0.1 (pid {top.process.pid})"
        kube.wait_for(lambda: "Pausing operations" in low.logs(), 30, "low yielding to top")
        kube.wait_for(lambda: "Resuming operations" in top.logs(), 30, "top taking over")
        writers = _repair_writers(kube, ns, "chat-users", "the Deployment repaired by top")
        assert low_agent not in writers  # paused, resync and queued work included
        resumed = low.logs().count("Resuming operations after the pause")
        top.kill()
        killed = time.monotonic()
        kube.wait_for(
            lambda: low.logs().count("Resuming operations after the pause") > resumed,
            30,
            "low resuming after top was killed",
        )
        hand_over = time.monotonic() - killed
        print(f"hand-over after SIGKILL: {hand_over:.1f} s")
        assert hand_over <= 15, f"hand-over took {hand_over:.1f} s"
        writers = _repair_writers(kube, ns, "chat-groups", "the Deployment repaired after the kill")
        assert top_agent not in writers
    finally:
        for process in replicas:
            process.stop()
        operator.start()
