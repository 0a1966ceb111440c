"""Failures show their reason in `kubectl get mp` within seconds; platforms stay independent."""

from __future__ import annotations

import json
import time

import pytest
import yaml

pytestmark = pytest.mark.cluster

FAIL_JOB = {"sim.messaging.platform.dev/exit-code": "1"}  # kwok stage: Job pods exit 1
BAD_IMAGE = {"sim.messaging.platform.dev/image-pull-error": "true"}  # kwok stage: ErrImagePull


def _platform(minimal_sample: str, **spec_changes) -> str:
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"].update(spec_changes)
    return json.dumps(platform)


def _gateway(minimal_sample: str) -> str:
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    return json.dumps(next(d for d in docs if d["kind"] == "Gateway"))


def test_injected_failures_reach_the_reason_column_within_10s(
    kube, operator, make_namespace, minimal_sample
):
    scenarios = {
        "SecretMissing": _platform(
            minimal_sample, postgres={"mode": "external", "secretRef": {"name": "shared-pg"}}
        ),
        "GatewayNotFound": _platform(minimal_sample),  # no Gateway applied beside it
        "MigrationJobFailed": _platform(
            minimal_sample, services={"auth": {"podAnnotations": FAIL_JOB}}
        ),
        "ImagePullError": _platform(
            minimal_sample, services={"relay": {"podAnnotations": BAD_IMAGE}}
        ),
    }
    namespaces = {reason: make_namespace() for reason in scenarios}
    for reason, ns in namespaces.items():
        if reason != "GatewayNotFound":
            kube.apply(ns, _gateway(minimal_sample))
    for reason, text in scenarios.items():
        kube.apply(namespaces[reason], text)

    def job_failed(ns: str) -> bool:
        result = kube.run(
            "get", "job", "chat-auth-migrate-1-0-0", "-n", ns, "-o", "json", check=False
        )
        if result.returncode != 0:
            return False
        conditions = json.loads(result.stdout).get("status", {}).get("conditions") or []
        return any(c["type"] == "Failed" and c["status"] == "True" for c in conditions)

    def image_stuck(ns: str) -> bool:
        pods = kube.json("get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=relay")["items"]
        return any(
            (s.get("state") or {}).get("waiting", {}).get("reason") == "ErrImagePull"
            for p in pods
            for s in (p.get("status") or {}).get("containerStatuses") or []
        )

    # When each failure became a fact in the cluster (a missing object is one from the start).
    happened_when = {
        "SecretMissing": lambda ns: True,
        "GatewayNotFound": lambda ns: True,
        "MigrationJobFailed": job_failed,
        "ImagePullError": image_stuck,
    }
    happened: dict[str, float] = {}
    shown: dict[str, float] = {}
    deadline = time.monotonic() + 90
    while len(shown) < len(scenarios) and time.monotonic() < deadline:
        for reason, ns in namespaces.items():
            if reason not in happened and happened_when[reason](ns):
                happened[reason] = time.monotonic()
            if reason not in shown and kube.ready_reason(ns) == reason:
                shown[reason] = time.monotonic()
                happened.setdefault(reason, shown[reason])
        time.sleep(0.2)
    delays = {r: round(shown[r] - happened[r], 1) for r in shown}
    print("\nreason shown in kubectl get mp, seconds after the failure:", delays)
    assert set(shown) == set(scenarios), {r: kube.ready_reason(ns) for r, ns in namespaces.items()}
    assert all(delay <= 10 for delay in delays.values()), delays
    for reason, ns in namespaces.items():
        assert kube.platform(ns)["status"]["phase"] == "Failed", reason

    # A failed migration leaves the service's Deployment alone (here: never created).
    failed_ns = namespaces["MigrationJobFailed"]
    kube.wait_for(
        lambda: "chat-users" in {d["metadata"]["name"] for d in kube.children(failed_ns, "deploy")},
        60,
        "the services whose migrations succeeded to be deployed",
    )
    names = {d["metadata"]["name"] for d in kube.children(failed_ns, "deploy")}
    assert "chat-auth" not in names
    message = kube.platform(failed_ns)["status"]["conditions"][0]["message"]
    assert "chat-auth-migrate-1-0-0" in message
    events = kube.json("get", "events", "-n", failed_ns)["items"]
    assert any(e["reason"] == "MigrationJobFailed" and e["type"] == "Warning" for e in events)

    # Fixing the cause unblocks the platform without anyone poking the operator.
    secret_ns = namespaces["SecretMissing"]
    kube.run(
        "create", "secret", "generic", "shared-pg", "-n", secret_ns,
        "--from-literal=host=pg.example.com", "--from-literal=port=5432",
        "--from-literal=username=admin", "--from-literal=password=x",
    )  # fmt: skip
    kube.wait_for(lambda: kube.ready_reason(secret_ns) != "SecretMissing", 10, "secret seen")
    gateway_ns = namespaces["GatewayNotFound"]
    kube.apply(gateway_ns, _gateway(minimal_sample))
    kube.wait_for(lambda: kube.ready_reason(gateway_ns) != "GatewayNotFound", 10, "gateway seen")


def test_two_platforms_do_not_interfere_and_delete_drops_volumes(
    kube, operator, make_namespace, minimal_sample
):
    first, second = make_namespace(), make_namespace()
    for ns in (first, second):
        kube.apply(ns, _gateway(minimal_sample))
    kube.apply(first, _platform(minimal_sample))

    def ready(ns):
        status = kube.platform(ns).get("status") or {}
        return status.get("phase") == "Ready"

    kube.wait_for(lambda: ready(first), 90, "the first platform Ready")
    time.sleep(2)
    since = kube.now()
    kinds = "deploy,sts,svc,cm,secret,job,pdb,httproute"
    before = {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in kube.children(first, kinds)
    }

    kube.apply(second, _platform(minimal_sample, deletionPolicy="Delete", version="2.0.0"))
    kube.wait_for(lambda: ready(second), 90, "the second platform Ready")
    kube.run("delete", "mp", "chat", "-n", second, "--timeout=30s")
    kube.wait_for(
        lambda: not kube.json("get", "pvc", "-n", second)["items"], 60, "Delete policy: PVCs gone"
    )

    after = {
        i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in kube.children(first, kinds)
    }
    assert after == before
    writes = kube.audit_writes(first, since)
    assert writes == [], [(w["verb"], w["requestURI"], w.get("userAgent")) for w in writes]
    assert kube.platform(first)["status"]["version"] == "1.0.0"


def test_restart_in_the_middle_of_a_reconcile_converges(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    kube.apply(ns, minimal_sample)
    time.sleep(0.5)  # the first reconcile is applying children now
    operator.kill()
    operator.start()
    kube.wait_for(
        lambda: (kube.platform(ns).get("status") or {}).get("phase") == "Ready",
        90,
        "Ready after the restart",
    )
    counts: dict[str, int] = {}
    for item in kube.children(ns, "deploy,sts,httproute"):
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    # 8 services + web; the routes also the media bucket's.
    assert counts == {"Deployment": 9, "StatefulSet": 4, "HTTPRoute": 10}


def test_pods_refused_by_a_quota_name_the_quota_once(
    kube, operator, make_namespace, minimal_sample
):
    """A Deployment whose pods cannot be created is a cause of its own, not a service
    forever 'not ready': the ReplicaSet's refusal reaches REASON and the message, once.
    The quota comes after Ready (kwok's Job pods succeed without a database, so a quota from
    the start could leave PostgreSQL without its pod behind an open migration gate)."""
    ns = make_namespace()
    kube.apply(ns, _gateway(minimal_sample))
    kube.apply(ns, _platform(minimal_sample))
    kube.wait_for(lambda: kube.ready_reason(ns) == "Ready", 120, "Ready")
    pods = kube.json("get", "pods", "-n", ns, "--field-selector=status.phase=Running")["items"]
    kube.run("create", "quota", "tiny", "-n", ns, f"--hard=pods={len(pods)}")
    kube.wait_for(
        lambda: (kube.json("get", "quota", "tiny", "-n", ns).get("status") or {}).get("used"),
        30,
        "the quota's usage counted",
    )
    more = {"spec": {"services": {"relay": {"replicas": 3}, "websocket": {"replicas": 3}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(more))
    seen: list[str] = []

    def refused() -> bool:
        # Both Deployments are refused, each in its own time: wait until the status says both.
        seen.append(kube.ready_reason(ns))
        message = kube.platform(ns)["status"]["conditions"][0].get("message", "")
        return seen[-1] == "PodCreationFailed" and message.startswith(
            "ServicesReady: relay, websocket:"
        )

    try:
        kube.wait_for(refused, 60, "PodCreationFailed for relay and websocket")
    except AssertionError as error:
        raise AssertionError(f"{error}; reasons seen: {set(seen)}") from None
    ready = kube.platform(ns)["status"]["conditions"][0]
    assert ready["message"].count("exceeded quota: tiny") == 1, ready["message"]
    assert ready["message"].startswith("ServicesReady: relay, websocket: pods is forbidden")
    assert len(ready["message"]) <= 300
    assert kube.platform(ns)["status"]["phase"] == "Failed"
