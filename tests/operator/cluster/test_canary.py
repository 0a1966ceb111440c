"""Canary walks against the real API server: weights step through the HTTPRoute, the walk is
recorded in status (and survives an operator restart), abort sends everything back to stable.

Analysis is off here (no spec.analysis.prometheus.url): each step passes when its interval
is over, so these tests prove the wiring, not the verdicts (tests/operator/test_analysis.py).
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

pytestmark = pytest.mark.cluster


def _platform_with_canary(kube, ns, minimal_sample, canary):
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"]["services"] = {"relay": {"canary": canary}}
    for doc in docs:
        kube.apply(ns, json.dumps(doc))


def _weights(kube, ns):
    found = kube.run("get", "httproute", "chat-relay", "-n", ns, "-o", "json", check=False)
    if found.returncode != 0:
        return {}  # not applied yet
    route = json.loads(found.stdout)
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def _walk(kube, ns):
    status = kube.platform(ns).get("status") or {}
    return ((status.get("services") or {}).get("relay") or {}).get("canary") or {}


def _deployment(kube, ns, name):
    return kube.json("get", "deploy", name, "-n", ns)


def _events(kube, ns):
    items = kube.json("get", "events", "-n", ns, "--field-selector", "involvedObject.name=chat")
    return [e["reason"] for e in sorted(items["items"], key=lambda e: e["metadata"]["name"])]


def _condition(kube, ns, kind):
    conditions = (kube.platform(ns).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), {})


def test_a_canary_walks_10_50_100_and_is_promoted(kube, operator, make_namespace, minimal_sample):
    ns = make_namespace()
    _platform_with_canary(
        kube,
        ns,
        minimal_sample,
        {"version": "1.1.0", "steps": [10, 50, 100], "interval": "3s", "keepWarm": "0s"},
    )
    seen: list[int] = []

    def promoted():
        weights = (
            _weights(kube, ns)
            if kube.run("get", "httproute", "chat-relay", "-n", ns, check=False).returncode == 0
            else {}
        )
        canary = weights.get("chat-relay-canary")
        if canary is not None and (not seen or seen[-1] != canary):
            assert sum(weights.values()) == 100, weights
            seen.append(canary)
        return _walk(kube, ns).get("phase") == "Succeeded"

    kube.wait_for(promoted, 60, "the canary promoted", every=0.3)
    assert seen[:3] == [10, 50, 100], seen
    walk = _walk(kube, ns)
    assert walk["reason"] == "Promoted"
    assert walk["analysis"]["reason"] == "AnalysisDisabled"
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 100, "chat-relay-canary": 0}, 20, "weights"
    )
    stable = _deployment(kube, ns, "chat-relay")
    assert stable["metadata"]["labels"]["app.kubernetes.io/version"] == "1.1.0"
    assert _deployment(kube, ns, "chat-relay-canary")["spec"]["replicas"] == 0
    reasons = _events(kube, ns)
    assert "WalkStarted" in reasons
    assert reasons.count("StepAdvanced") == 2
    assert "Promoted" in reasons
    row = kube.run("get", "mp", "chat", "-n", ns, "--no-headers").stdout.split()
    assert row[4] == "0"  # the CANARIES column: none in flight any more
    assert _condition(kube, ns, "CanaryProgressing")["reason"] == "Promoted"


def test_abort_mid_walk_puts_all_weight_back_on_stable(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    _platform_with_canary(
        kube, ns, minimal_sample, {"version": "1.1.0", "steps": [10, 50, 100], "interval": "1h"}
    )
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 90, "chat-relay-canary": 10}, 30, "10 %"
    )
    canary = _deployment(kube, ns, "chat-relay-canary")
    assert canary["spec"]["replicas"] == 1
    assert canary["metadata"]["labels"]["app.kubernetes.io/version"] == "1.1.0"
    row = kube.run("get", "mp", "chat", "-n", ns, "--no-headers").stdout.split()
    assert row[4] == "1"  # CANARIES
    assert _condition(kube, ns, "CanaryProgressing")["reason"] == "Progressing"

    patch = {"spec": {"services": {"relay": {"canary": {"abort": True}}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "RolledBack", 20, "rolled back")
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 100, "chat-relay-canary": 0}, 20, "stable"
    )
    assert _deployment(kube, ns, "chat-relay-canary")["spec"]["replicas"] == 0
    stable = _deployment(kube, ns, "chat-relay")
    assert stable["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"
    assert _walk(kube, ns)["reason"] == "Aborted"
    condition = _condition(kube, ns, "CanaryProgressing")
    assert (condition["status"], condition["reason"]) == ("False", "CanaryRolledBack")
    kube.wait_for(lambda: "Aborted" in _events(kube, ns), 10, "an Aborted event")


def test_a_restarted_operator_continues_the_walk_from_status(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    _platform_with_canary(
        kube, ns, minimal_sample, {"version": "1.1.0", "steps": [10, 50, 100], "interval": "6s"}
    )
    kube.wait_for(lambda: _walk(kube, ns).get("weight") == 10, 30, "the first step")
    started = _walk(kube, ns)["startedAt"]
    kube.wait_for(lambda: "WalkStarted" in _events(kube, ns), 10, "the WalkStarted event")
    operator.kill()
    operator.start()
    kube.wait_for(lambda: _walk(kube, ns).get("weight") == 50, 30, "the second step")
    walk = _walk(kube, ns)
    assert walk["startedAt"] == started  # continued, not begun again
    assert walk["step"] == 1
    assert _events(kube, ns).count("WalkStarted") == 1
    assert "WalkRestarted" not in _events(kube, ns)


MAINTENANCE_RULE = {
    "name": "maintenance",
    "matches": [{"path": {"type": "PathPrefix", "value": "/api/v1/relay/maintenance"}}],
    "backendRefs": [{"name": "maintenance-page", "port": 8080}],
}


def test_a_hand_added_route_rule_survives_a_whole_walk(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    _platform_with_canary(
        kube,
        ns,
        minimal_sample,
        {"version": "1.1.0", "steps": [10, 50, 100], "interval": "3s", "keepWarm": "0s"},
    )
    kube.wait_for(lambda: _weights(kube, ns).get("chat-relay-canary") == 10, 30, "10 %")
    add = [{"op": "add", "path": "/spec/rules/-", "value": MAINTENANCE_RULE}]
    kube.run("patch", "httproute", "chat-relay", "-n", ns, "--type=json", "-p", json.dumps(add))
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 60, "promoted")
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 100, "chat-relay-canary": 0}, 20, "weights"
    )
    rules = kube.json("get", "httproute", "chat-relay", "-n", ns)["spec"]["rules"]
    assert [r.get("name") for r in rules] == ["messaging-operator", "maintenance"]
    assert rules[1]["matches"] == MAINTENANCE_RULE["matches"]
    assert rules[1]["backendRefs"][0]["name"] == "maintenance-page"


def test_promote_by_hand_ends_the_walk_at_once(kube, operator, make_namespace, minimal_sample):
    ns = make_namespace()
    _platform_with_canary(
        kube,
        ns,
        minimal_sample,
        {"version": "1.1.0", "steps": [10, 50, 100], "interval": "1h", "keepWarm": "0s"},
    )
    kube.wait_for(lambda: _walk(kube, ns).get("weight") == 10, 30, "the first step")
    patch = {"spec": {"services": {"relay": {"canary": {"promote": True}}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 20, "promoted")
    kube.wait_for(
        lambda: (
            _deployment(kube, ns, "chat-relay")["metadata"]["labels"]["app.kubernetes.io/version"]
            == "1.1.0"
        ),
        20,
        "stable on 1.1.0",
    )


def _version(deployment):
    return deployment["metadata"]["labels"]["app.kubernetes.io/version"]


def test_rollback_right_after_promotion_is_instant(kube, operator, make_namespace, minimal_sample):
    ns = make_namespace()
    _platform_with_canary(
        kube,
        ns,
        minimal_sample,
        {"version": "1.1.0", "steps": [50, 100], "interval": "2s", "keepWarm": "10m"},
    )
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 40, "promoted")
    # Kept warm: the canary (grown to the stable's size) carries it all, stable is untouched.
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 0, "chat-relay-canary": 100}, 20, "handover"
    )
    kube.wait_for(
        lambda: _deployment(kube, ns, "chat-relay-canary")["spec"]["replicas"] == 2, 20, "grown"
    )
    stable = _deployment(kube, ns, "chat-relay")
    assert _version(stable) == "1.0.0"
    generation = stable["metadata"]["generation"]
    assert "kept warm for 10m" in _walk(kube, ns)["message"]

    patch = {"spec": {"services": {"relay": {"canary": {"abort": True}}}}}
    started = time.monotonic()
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(
        lambda: _weights(kube, ns) == {"chat-relay": 100, "chat-relay-canary": 0},
        10,
        "all traffic back on the warm stable",
        every=0.05,
    )
    took = time.monotonic() - started
    print(f"\nundo a promotion while warm: route back on stable after {took:.2f}s")
    stable = _deployment(kube, ns, "chat-relay")
    # Nothing had to start: the stable Deployment never changed (no rollout, same pods).
    assert stable["metadata"]["generation"] == generation
    assert _version(stable) == "1.0.0"
    walk = _walk(kube, ns)
    assert (walk["phase"], walk["reason"]) == ("RolledBack", "Aborted")
    assert "still warm" in walk["message"]


def test_a_new_canary_version_mid_walk_restarts_the_walk(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    _platform_with_canary(
        kube, ns, minimal_sample, {"version": "1.1.0", "steps": [10, 50, 100], "interval": "4s"}
    )
    kube.wait_for(lambda: _walk(kube, ns).get("weight") == 50, 30, "the second step")
    first_start = _walk(kube, ns)["startedAt"]
    patch = {"spec": {"services": {"relay": {"canary": {"version": "1.2.0"}}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(lambda: _walk(kube, ns).get("version") == "1.2.0", 20, "the new version")
    walk = _walk(kube, ns)
    assert (walk["step"], walk["weight"], walk["failures"]) == (0, 10, 0)
    assert "replaces 1.1.0" in _events_messages(kube, ns, "WalkRestarted")
    assert walk["startedAt"] >= first_start
    kube.wait_for(
        lambda: _version(_deployment(kube, ns, "chat-relay-canary")) == "1.2.0", 20, "canary pods"
    )
    assert _weights(kube, ns) == {"chat-relay": 90, "chat-relay-canary": 10}


def _events_messages(kube, ns, reason):
    items = kube.json("get", "events", "-n", ns, "--field-selector", "involvedObject.name=chat")
    return " | ".join(e.get("message", "") for e in items["items"] if e["reason"] == reason)
