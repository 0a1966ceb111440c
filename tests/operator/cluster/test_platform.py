"""One platform from the minimal sample, taken through its life against the real API server."""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = pytest.mark.cluster

CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CONDITIONS = {
    "Ready",
    "InfrastructureReady",
    "MigrationsSucceeded",
    "ServicesReady",
    "RoutesReady",
    "CanaryProgressing",
    "BackupsSucceeded",
    "RestoreSucceeded",
}
EXPECTED_CHILDREN = {
    "Deployment": 9,  # 8 services + the web client
    "StatefulSet": 4,
    "Service": 13,
    "ConfigMap": 8,
    "Secret": 12,  # with the service credential (<platform>-internal)
    "Job": 7,  # 6 migrations + database provisioning (media makes its own bucket)
    "PodDisruptionBudget": 8,
    "HTTPRoute": 10,  # 8 services, the web client, the media bucket
    "NetworkPolicy": 8,  # one per service
}
KINDS = "deploy,sts,svc,cm,secret,job,pdb,httproute,networkpolicy"


def _is_ready(kube, ns):
    status = kube.platform(ns).get("status") or {}
    return (
        status.get("phase") == "Ready"
        and status.get("observedGeneration") == kube.platform(ns)["metadata"]["generation"]
    )


@pytest.fixture(scope="module")
def ready_platform(kube, operator, module_namespace, minimal_sample):
    """Apply the sample and time it: all children created, then Ready."""
    ns = module_namespace
    started = time.monotonic()
    kube.apply(ns, minimal_sample)

    def counts():
        found: dict[str, int] = {}
        for item in kube.children(ns, KINDS):
            found[item["kind"]] = found.get(item["kind"], 0) + 1
        return found == EXPECTED_CHILDREN and found

    kube.wait_for(counts, 60, "every child of the sample")
    children_at = time.monotonic() - started
    kube.wait_for(lambda: _is_ready(kube, ns), 120, "phase Ready")
    ready_at = time.monotonic() - started
    print(f"\nsample apply -> all children created {children_at:.1f}s -> Ready {ready_at:.1f}s")
    return ns, children_at, ready_at


def test_every_child_exists_owned_by_the_platform(kube, ready_platform):
    ns, _, _ = ready_platform
    uid = kube.platform(ns)["metadata"]["uid"]
    for item in kube.children(ns, KINDS):
        refs = item["metadata"].get("ownerReferences") or []
        assert [(r["kind"], r["uid"], r.get("controller")) for r in refs] == [
            ("MessagingPlatform", uid, True)
        ], item["metadata"]["name"]
    auth = kube.json("get", "deploy", "chat-auth", "-n", ns)
    container = auth["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.0.0"
    assert container["command"] == ["messaging-auth"]
    route = kube.json("get", "httproute", "chat-media", "-n", ns)
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "chat-media"
    # As the API server stored it: only the platform's pods and the gateway's, on 8005.
    policy = kube.json("get", "networkpolicy", "chat-media", "-n", ns)["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8005}]
    assert [sorted(peer) for peer in rule["from"]] == [
        ["podSelector"], ["namespaceSelector", "podSelector"],
    ]  # fmt: skip
    # PVCs belong to the StatefulSets' claims, not to the platform: Retain keeps them.
    claims = kube.json("get", "pvc", "-n", ns)["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == [
        "data-chat-minio-0", "data-chat-postgres-0", "data-chat-rabbitmq-0", "data-chat-redis-0",
    ]  # fmt: skip


def test_kubectl_get_mp_tells_the_story(kube, ready_platform):
    ns, _, _ = ready_platform
    lines = kube.run("get", "mp", "-n", ns).stdout.splitlines()
    assert lines[0].split() == [
        "NAME", "PHASE", "READY", "VERSION", "CANARIES", "MIGRATED", "REASON", "WALKS", "AGE",
    ]  # fmt: skip
    assert lines[1].split()[:8] == [
        "chat", "Ready", "8/8", "1.0.0", "0", "100%", "Ready", "NoCanary",
    ]  # fmt: skip
    assert len(lines[0]) <= 100


def test_status_follows_the_conventions(kube, ready_platform):
    ns, _, _ = ready_platform
    body = kube.platform(ns)
    status = body["status"]
    assert {c["type"] for c in status["conditions"]} == CONDITIONS
    for condition in status["conditions"]:
        assert set(condition) >= {
            "type", "status", "reason", "message", "observedGeneration", "lastTransitionTime",
        }  # fmt: skip
        assert condition["status"] == "True"
        assert CAMEL.match(condition["reason"])
        assert condition["message"]
        assert condition["observedGeneration"] == body["metadata"]["generation"]
    assert status["services"]["auth"] == {
        "ready": True, "readyReplicas": 2, "replicas": 2, "version": "1.0.0",
        "targetVersion": "1.0.0", "weight": 100,
        # Read back from the live route (no legacy in this sample: all on stable).
        "routeWeights": {"legacy": 0, "stable": 100, "canary": 0},
    }  # fmt: skip
    events = kube.json("get", "events", "-n", ns, "--field-selector", "involvedObject.name=chat")
    reasons = {e["reason"] for e in events["items"]}
    assert {"Applied", "Ready"} <= reasons


def test_zero_writes_at_rest_and_across_a_restart(kube, operator, ready_platform):
    ns, _, _ = ready_platform
    time.sleep(3)  # let the last status write and its echo settle
    since = kube.now()
    versions = {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in kube.children(ns, KINDS)
    }
    time.sleep(10)
    writes = kube.audit_writes(ns, since)
    assert writes == [], [(w["verb"], w["requestURI"], w.get("userAgent")) for w in writes]
    operator.stop()
    operator.start()
    time.sleep(8)  # the new process lists everything and reconciles the platform once
    writes = kube.audit_writes(ns, since)
    assert writes == [], [(w["verb"], w["requestURI"], w.get("userAgent")) for w in writes]
    after = {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in kube.children(ns, KINDS)
    }
    assert after == versions


def test_deleted_deployment_comes_back(kube, ready_platform):
    ns, _, _ = ready_platform
    old_uid = kube.json("get", "deploy", "chat-messages", "-n", ns)["metadata"]["uid"]
    started = time.monotonic()
    kube.run("delete", "deploy", "chat-messages", "-n", ns, "--wait=false")

    def recreated():
        result = kube.run("get", "deploy", "chat-messages", "-n", ns, "-o", "json", check=False)
        return result.returncode == 0 and json.loads(result.stdout)["metadata"]["uid"] != old_uid

    kube.wait_for(recreated, 10, "the Deployment to be recreated")
    print(f"\nDeployment recreated {time.monotonic() - started:.1f}s after its deletion")
    kube.wait_for(lambda: _is_ready(kube, ns), 30, "Ready again")


def test_hand_edit_of_a_child_is_reverted(kube, ready_platform):
    ns, _, _ = ready_platform
    kube.run("scale", "deploy", "chat-users", "-n", ns, "--replicas=5")
    kube.wait_for(
        lambda: kube.json("get", "deploy", "chat-users", "-n", ns)["spec"]["replicas"] == 2,
        10,
        "replicas put back to 2",
    )


def test_editing_replicas_in_the_platform_changes_the_deployment(kube, ready_platform):
    ns, _, _ = ready_platform
    patch = {"spec": {"services": {"groups": {"replicas": 3}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(
        lambda: kube.json("get", "deploy", "chat-groups", "-n", ns)["spec"]["replicas"] == 3,
        10,
        "the Deployment to scale to 3",
    )
    kube.wait_for(lambda: _is_ready(kube, ns), 30, "Ready at the new generation")
    groups = kube.platform(ns)["status"]["services"]["groups"]
    assert (groups["readyReplicas"], groups["replicas"]) == (3, 3)


def test_database_down_shows_and_recovers(kube, ready_platform):
    """kwok keeps a pod's status once it has an IP, so marking the PostgreSQL pod unready by
    hand stands in for a crashed database (no process actually stops: none runs)."""
    ns, _, _ = ready_platform

    def set_ready(value: str) -> None:
        patch = {"status": {"conditions": [{"type": "Ready", "status": value}]}}
        kube.run("patch", "pod", "chat-postgres-0", "-n", ns, "--subresource=status",
                 "--type=strategic", "-p", json.dumps(patch))  # fmt: skip

    set_ready("False")
    try:
        started = time.monotonic()
        kube.wait_for(
            lambda: kube.ready_reason(ns) == "DatabaseUnavailable", 10, "DatabaseUnavailable"
        )
        print(f"\ndatabase down shown after {time.monotonic() - started:.1f}s")
        kube.wait_for(lambda: kube.platform(ns)["status"]["phase"] == "Failed", 10, "phase Failed")
    finally:
        set_ready("True")
    kube.wait_for(lambda: _is_ready(kube, ns), 20, "Ready once the database is back")


def test_version_bump_migrates_first_then_rolls_out(kube, ready_platform):
    ns, _, _ = ready_platform
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", '{"spec":{"version":"1.1.0"}}')
    kube.wait_for(lambda: _is_ready(kube, ns), 60, "Ready at 1.1.0")
    status = kube.platform(ns)["status"]
    assert status["version"] == "1.1.0"
    jobs = {j["metadata"]["name"]: j for j in kube.children(ns, "job")}
    migrate = jobs["chat-auth-migrate-1-1-0"]
    deployment = kube.json("get", "deploy", "chat-auth", "-n", ns, "--show-managed-fields")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/acme/messaging/auth:1.1.0"
    # The Deployment moved to 1.1.0 only after the migration Job had completed.
    completed = migrate["status"]["completionTime"]
    rolled = next(
        f["time"]
        for f in deployment["metadata"]["managedFields"]
        if f["manager"] == "messaging-operator" and f["operation"] == "Apply"
    )
    assert rolled >= completed


def test_deletion_with_retain_keeps_the_volumes(kube, ready_platform):
    ns, _, _ = ready_platform
    kube.run("delete", "mp", "chat", "-n", ns, "--timeout=30s")
    kube.wait_for(lambda: not kube.children(ns, "deploy,sts,svc,cm"), 60, "children to be gone")
    claims = kube.json("get", "pvc", "-n", ns)["items"]
    assert len(claims) == 4
    assert all(not c["metadata"].get("deletionTimestamp") for c in claims)
