"""Canary analysis against a real Prometheus scraping a tiny HTTP server that serves the kit's
request metrics with the error rate and latency each test sets per version (the fixtures
`fake_relay` and `prometheus` are in fake_metrics.py)."""

from __future__ import annotations

import json
import time

import pytest
import yaml

pytestmark = pytest.mark.cluster


def _start(kube, ns, minimal_sample, url, canary):
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"]["analysis"] = {"prometheus": {"url": url}}
    platform["spec"]["services"] = {"relay": {"canary": canary}}
    for doc in docs:
        kube.apply(ns, json.dumps(doc))


def _walk(kube, ns):
    status = kube.platform(ns).get("status") or {}
    return ((status.get("services") or {}).get("relay") or {}).get("canary") or {}


ANALYSIS = {"maxErrorRate": 0.05, "maxP95LatencyMs": 200, "minRequests": 10, "failureLimit": 2}


def test_a_healthy_canary_passes_each_analysis_and_is_promoted(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0")
    time.sleep(3)  # a few scrapes before the first window ends
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "5s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Succeeded", 60, "promoted")
    analysis = _walk(kube, ns)["analysis"]
    assert analysis["verdict"] == "Pass"
    assert analysis["reason"] == "WithinThresholds"
    assert analysis["requests"] >= 10
    assert analysis["errorRate"] == 0
    assert 0 < analysis["p95LatencyMs"] <= 50


def test_a_failing_canary_is_rolled_back_with_its_numbers(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0", error=0.5)
    time.sleep(3)
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "4s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "RolledBack", 60, "rolled back")
    walk = _walk(kube, ns)
    assert walk["reason"] == "AnalysisFailed"
    assert walk["failures"] == 2
    assert 0.4 < walk["analysis"]["errorRate"] < 0.6
    assert "error rate" in walk["message"]
    route = kube.json("get", "httproute", "chat-relay", "-n", ns)
    weights = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"chat-relay": 100, "chat-relay-canary": 0}


def test_a_quiet_canary_waits_instead_of_rolling_back(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0", rps=0)
    time.sleep(2)
    ns = make_namespace()
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "3s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Waiting", 30, "waiting")
    time.sleep(8)  # several more windows: still waiting, never a failure
    walk = _walk(kube, ns)
    assert (walk["phase"], walk["reason"], walk["failures"], walk["weight"]) == (
        "Waiting",
        "TooFewRequests",
        0,
        10,
    )


def _weights(kube, ns):
    route = kube.json("get", "httproute", "chat-relay", "-n", ns)
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def test_a_frozen_canary_holds_its_weights_and_alerts(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0")
    fake_relay.set("1.1.0", error=0.5)
    time.sleep(3)
    ns = make_namespace()
    canary = {
        "version": "1.1.0",
        "steps": [10, 50, 100],
        "interval": "4s",
        "analysis": ANALYSIS,
        "onFailure": "freeze",
    }
    _start(kube, ns, minimal_sample, prometheus, canary)
    kube.wait_for(lambda: _walk(kube, ns).get("phase") == "Frozen", 60, "frozen")
    held = _weights(kube, ns)
    assert held == {"chat-relay": 90, "chat-relay-canary": 10}
    time.sleep(9)  # two more windows: nothing moves, nothing rolls back
    walk = _walk(kube, ns)
    assert walk["phase"] == "Frozen"
    assert "onFailure: freeze" in walk["message"]
    assert _weights(kube, ns) == held
    canary_pods = kube.json("get", "deploy", "chat-relay-canary", "-n", ns)
    assert canary_pods["spec"]["replicas"] == 1  # still running: its schema may be needed
    conditions = kube.platform(ns)["status"]["conditions"]
    progressing = next(c for c in conditions if c["type"] == "CanaryProgressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "CanaryFrozen")
    reasons = [
        e["reason"]
        for e in kube.json("get", "events", "-n", ns, "--field-selector", "type=Warning")["items"]
    ]
    assert "Frozen" in reasons
