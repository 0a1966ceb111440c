"""`kubectl mp` driven as a user drives it: kubectl finds the plugin on PATH (the operator
package's `kubectl-mp` script) and it works against the real API server and the real operator:
a relay canary is shown, paused, resumed and promoted, and its history read back; a manual
gate holds a walk until `kubectl mp approve`, and `kubectl get mp` says it waits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.operator.cluster.test_canary import _platform_with_canary, _walk, _weights

pytestmark = pytest.mark.cluster


def mp(kube, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`kubectl mp ARGS`, with this environment's scripts (kubectl-mp) first on PATH."""
    env = {**kube.env, "PATH": f"{Path(sys.executable).parent}:{kube.env['PATH']}"}
    result = subprocess.run(
        ["kubectl", "mp", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def relay_row(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("relay "))


def test_a_canary_seen_paused_resumed_promoted_and_its_history_read_with_kubectl_mp(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    _platform_with_canary(
        kube, ns, minimal_sample, {"version": "1.1.0", "steps": [10, 50, 100], "interval": "1h"}
    )
    kube.wait_for(lambda: _weights(kube, ns).get("chat-relay-canary") == 10, 30, "10 %")
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Progressing", 10, "Progressing")

    shown = mp(kube, "get", "chat", "-n", ns).stdout
    assert "Rollout:    running" in shown
    row = relay_row(shown).split()
    assert row[:4] == ["relay", "canary", "Progressing", "10%"], shown
    assert "1.1.0" in relay_row(shown)

    assert "paused" in mp(kube, "pause", "chat", "-n", ns).stdout
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Paused", 20, "the walk Paused")
    shown = mp(kube, "get", "chat", "-n", ns).stdout
    assert "Rollout:    paused" in shown
    assert relay_row(shown).split()[2] == "Paused"

    mp(kube, "resume", "chat", "-n", ns)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Progressing", 20, "Progressing again")

    refused = mp(kube, "promote", "chat", "auth", "-n", ns, check=False)
    assert refused.returncode == 1
    assert "auth declares no canary" in refused.stderr
    assert "auth" not in (kube.platform(ns)["spec"].get("services") or {})

    mp(kube, "promote", "chat", "relay", "-n", ns)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 30, "promoted")

    def reasons() -> list[str]:
        lines = mp(kube, "history", "chat", "relay", "-n", ns).stdout.splitlines()[1:]
        return [line.split()[2] for line in lines]

    kube.wait_for(lambda: "Promoted" in reasons(), 20, "the Promoted event in the history")
    history = reasons()
    assert history[0] == "WalkStarted", history
    assert {"RolloutPaused", "RolloutResumed", "Promoted"} <= set(history), history
    assert all(
        line.split()[3] == "relay:"
        for line in mp(kube, "history", "chat", "relay", "-n", ns).stdout.splitlines()[1:]
    )


def test_a_manual_gate_holds_until_approved_with_kubectl_mp_and_shows_in_get_mp(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "gates": [50], "interval": "3s"}
    _platform_with_canary(kube, ns, minimal_sample, {**canary, "keepWarm": "0s"})
    kube.wait_for(
        lambda: _walk(kube, ns).get("reason") == "AwaitingApproval", 30, "the walk at its gate"
    )
    time.sleep(4)  # a whole window later it still waits at 10 %
    assert _walk(kube, ns)["weight"] == 10
    assert _weights(kube, ns).get("chat-relay-canary") == 10
    columns = kube.run("get", "mp", "chat", "-n", ns).stdout.splitlines()
    walks = columns[0].split().index("WALKS")
    assert columns[1].split()[walks] == "AwaitingApproval", columns
    assert "waiting for approval to go to 50%" in relay_row(
        mp(kube, "get", "chat", "-n", ns).stdout
    )

    assert "approved to 50%" in mp(kube, "approve", "chat", "relay", "-n", ns).stdout
    assert kube.platform(ns)["spec"]["services"]["relay"]["canary"]["approved"] == 50
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 60, "promoted after it")
    refused = mp(kube, "approve", "chat", "relay", "-n", ns, check=False)
    assert refused.returncode == 1
    assert "no gate left" in refused.stderr
