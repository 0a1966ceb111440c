"""Migrations from the legacy monolith against the real API server and a real Prometheus:
a service walks legacy -> new through its HTTPRoute and is rolled back to legacy when its
analysis fails; a migration plan walks three services in order and stops at the first
failing one. The new services' metrics come from fake_metrics.FakeService."""

from __future__ import annotations

import json
import time

import pytest
import yaml

pytestmark = pytest.mark.cluster

ANALYSIS = {"maxErrorRate": 0.05, "maxP95LatencyMs": 200, "minRequests": 10, "failureLimit": 2}
MONOLITH = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "monolith"},
    "spec": {"ports": [{"port": 8000}], "selector": {"app": "monolith"}},
}


def _start(kube, ns, minimal_sample, url, spec_changes):
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"]["gateway"]["legacy"] = {"service": "monolith", "port": 8000}
    platform["spec"]["analysis"] = {"prometheus": {"url": url}}
    platform["spec"].update(spec_changes)
    for doc in [MONOLITH, *docs]:
        kube.apply(ns, json.dumps(doc))


def _weights(kube, ns, service):
    found = kube.run("get", "httproute", f"chat-{service}", "-n", ns, "-o", "json", check=False)
    if found.returncode != 0:
        return {}
    route = json.loads(found.stdout)
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def _status(kube, ns):
    return kube.platform(ns).get("status") or {}


def _walk(kube, ns, service):
    entry = (_status(kube, ns).get("services") or {}).get(service) or {}
    return entry.get("migration") or {}


def test_a_migration_walks_from_legacy_and_is_rolled_back_to_legacy(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    fake_relay.set("1.0.0", service="media")
    time.sleep(3)
    ns = make_namespace()
    # Small steps after 50, so a window that straddles the error injection (and passes on
    # its healthy half) cannot carry the walk to 100 before the failures add up.
    migration = {"steps": [10, 50, 60, 70, 80, 90, 100], "interval": "4s", "analysis": ANALYSIS}
    _start(kube, ns, minimal_sample, prometheus, {"services": {"media": {"migration": migration}}})
    seen: list[int] = []

    def at_fifty():
        weights = _weights(kube, ns, "media")
        if weights:
            assert sum(weights.values()) == 100, weights
            if not seen or seen[-1] != weights["chat-media"]:
                seen.append(weights["chat-media"])
        return weights.get("chat-media") == 50

    kube.wait_for(at_fifty, 40, "media at 50 % after a passing window", every=0.3)
    assert seen[:2] == [10, 50], seen
    # Status reports the weights read back from the route.
    entry = _status(kube, ns)["services"]["media"]
    assert entry["routeWeights"] == {"legacy": 50, "stable": 50, "canary": 0}
    assert entry["weight"] == 50

    fake_relay.set("1.0.0", service="media", error=0.5)
    kube.wait_for(lambda: _walk(kube, ns, "media").get("phase") == "RolledBack", 90, "rollback")
    walk = _walk(kube, ns, "media")
    assert walk["reason"] == "AnalysisFailed"
    assert 0.2 < walk["analysis"]["errorRate"] <= 0.6
    assert "back on legacy" in walk["message"]
    kube.wait_for(
        lambda: _weights(kube, ns, "media") == {"chat-media": 0, "monolith": 100}, 20, "legacy"
    )
    assert _status(kube, ns)["services"]["media"]["routeWeights"]["legacy"] == 100
    row = kube.run("get", "mp", "chat", "-n", ns, "--no-headers").stdout.split()
    assert row[5] == "88%"  # MIGRATED: seven services at 100 %, media at 0 %


def test_a_migration_plan_walks_services_in_order_and_stops_at_the_first_failure(
    kube, operator, make_namespace, minimal_sample, fake_relay, prometheus
):
    for service in ("relay", "media"):
        fake_relay.set("1.0.0", service=service)
    fake_relay.set("1.0.0", service="notifications", error=0.5)
    time.sleep(3)
    ns = make_namespace()
    plan = {
        "order": ["relay", "media", "notifications"],
        "steps": [50, 100],
        "interval": "3s",
        "analysis": ANALYSIS,
    }
    _start(kube, ns, minimal_sample, prometheus, {"migrationPlan": plan})
    kube.wait_for(
        lambda: (_status(kube, ns).get("migrationPlan") or {}).get("phase") == "Stopped",
        90,
        "the plan stopped at notifications",
    )
    status = _status(kube, ns)
    assert status["migrationPlan"]["current"] == "notifications"
    assert status["migrationPlan"]["completed"] == ["relay", "media"]
    relay, media = _walk(kube, ns, "relay"), _walk(kube, ns, "media")
    notifications = _walk(kube, ns, "notifications")
    assert (relay["phase"], media["phase"]) == ("Succeeded", "Succeeded")
    # One after another: each began only once the one before it had finished.
    assert relay["startedAt"] <= media["startedAt"] <= notifications["startedAt"]
    assert notifications["phase"] == "RolledBack"
    assert "error rate" in notifications["message"]
    for service, new in (("relay", 100), ("media", 100), ("notifications", 0)):
        kube.wait_for(
            lambda s=service, n=new: _weights(kube, ns, s) == {f"chat-{s}": n, "monolith": 100 - n},
            20,
            f"{service} at {new} %",
        )
    condition = next(c for c in status["conditions"] if c["type"] == "CanaryProgressing")
    assert condition["status"] == "False"
    assert "notifications" in condition["message"]
