"""Every kind of child the operator manages, edited or deleted by hand, is repaired by its
watch within 2 s, on a platform with the longest name the CRD admits.

The operator here has an instance label of its own and a resync of 300 s (production's), so
a repair within seconds can only come from the watch on that kind, not from the safety net.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from messaging_operator.builders.metadata import MAX_PLATFORM_NAME
from messaging_operator.kinds import KINDS

from tests.operator.cluster.conftest import INSTANCE_LABEL, Kube, OperatorProcess

pytestmark = pytest.mark.cluster

NAME = "drift-" + "x" * (MAX_PLATFORM_NAME - len("drift-"))
REPAIR_SECONDS = 2.0
# One child of each kind the operator applies (kinds.py marks them children).
EDITED = {
    "ConfigMap": f"{NAME}-auth",
    "Service": f"{NAME}-auth",
    "Secret": f"{NAME}-jwt",
    "Deployment": f"{NAME}-auth",
    "StatefulSet": f"{NAME}-redis",
    "CronJob": f"{NAME}-messages-backup",
    "PodDisruptionBudget": f"{NAME}-auth",
    "HorizontalPodAutoscaler": f"{NAME}-users",
    "HTTPRoute": f"{NAME}-auth",
    "NetworkPolicy": f"{NAME}-auth",
}
# Jobs are create-only records (an edit is not undone), but a deleted one comes back.
DELETED = {**EDITED, "Job": f"{NAME}-auth-migrate-1-0-0"}
# A label the operator sets on every child: a hand edit of it is drift.
EDITED_LABEL = "app.kubernetes.io/part-of"


def test_every_applied_kind_is_covered():
    applied = {kind.name for kind in KINDS if kind.child and kind.name != "Pod"}
    assert set(DELETED) == applied


@pytest.fixture(scope="module")
def platform(
    kube: Kube, module_namespace: str, minimal_sample: str, tmp_path_factory
) -> Iterator[str]:
    instance = f"drift-{uuid.uuid4().hex[:8]}"
    process = OperatorProcess(
        kube,
        Path(tmp_path_factory.mktemp("drift-operator")),
        {"MESSAGING_OPERATOR_INSTANCE": instance, "MESSAGING_OPERATOR_RESYNC_SECONDS": "300"},
    )
    process.start()
    docs = [doc for doc in yaml.safe_load_all(minimal_sample) if doc]
    for doc in docs:
        if doc["kind"] == "MessagingPlatform":
            doc["metadata"] = {"name": NAME, "labels": {INSTANCE_LABEL: instance}}
            doc["spec"]["backups"] = {"schedule": "0 3 * * *"}
            doc["spec"]["services"] = {"users": {"autoscaling": {"enabled": True}}}
    listing = {"apiVersion": "v1", "kind": "List", "items": docs}
    kube.run("apply", "-n", module_namespace, "-f", "-", stdin=json.dumps(listing))

    def ready() -> bool:
        status = kube.platform(module_namespace, NAME).get("status") or {}
        return status.get("phase") == "Ready"

    try:
        kube.wait_for(ready, 150, f"platform {NAME} ({len(NAME)} characters) Ready")
        yield module_namespace
    finally:
        process.stop()


def get(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    result = kube.run("get", kind.lower(), name, "-n", namespace, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def operator_reaction(kube: Kube, ns: str, kind: str, name: str, since: str) -> float:
    """Seconds from the hand-made write reaching the API server to the operator's repair of
    that object being written (both from the audit log): the operator's reaction alone, without
    the kubectl processes that made the change and polled for the result."""
    plural = next(k.plural for k in KINDS if k.name == kind)
    on_object = [
        w
        for w in kube.audit_writes(ns, since)
        if (w.get("objectRef") or {}).get("resource") == plural
        and (w.get("objectRef") or {}).get("name") == name
    ]
    by_hand = [w for w in on_object if w["userAgent"].startswith("kubectl")]
    assert by_hand, f"no hand-made write on {kind} {name} in the audit log"
    made = min(w["requestReceivedTimestamp"] for w in by_hand)
    repairs = [
        w["stageTimestamp"]
        for w in on_object
        if w["userAgent"].startswith("messaging-operator/") and w["stageTimestamp"] > made
    ]
    assert repairs, f"no repair of {kind} {name} by the operator in the audit log"
    return (parse_time(min(repairs)) - parse_time(made)).total_seconds()


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_the_longest_name_gets_every_child_and_running_pods(kube, platform):
    ns = platform
    for kind, name in DELETED.items():
        assert get(kube, ns, kind, name) is not None, f"{kind} {name} missing"
    pods = kube.json("get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=postgres")["items"]
    assert [p["metadata"]["name"] for p in pods] == [f"{NAME}-postgres-0"]
    message = kube.platform(ns, NAME)["status"]["conditions"][0]["message"]
    assert message == "the platform is ready"


@pytest.mark.parametrize("kind", sorted(EDITED))
def test_a_hand_edit_is_undone_within_2s(kube, platform, kind):
    ns, name = platform, EDITED[kind]
    since = kube.now()
    started = time.monotonic()
    kube.run("label", kind.lower(), name, "-n", ns, f"{EDITED_LABEL}=edited-by-hand", "--overwrite")

    def repaired() -> bool:
        obj = get(kube, ns, kind, name) or {}
        return (obj.get("metadata", {}).get("labels") or {}).get(EDITED_LABEL) == (
            "messaging-platform"
        )

    kube.wait_for(repaired, 10, f"{kind} {name}'s label put back", every=0.05)
    seen = time.monotonic() - started
    took = operator_reaction(kube, ns, kind, name, since)
    print(f"\n{kind}: edit undone in {took:.2f}s (seen through kubectl after {seen:.2f}s)")
    assert took < REPAIR_SECONDS, f"{kind}: {took:.2f}s"


@pytest.mark.parametrize("kind", sorted(DELETED))
def test_a_deleted_child_comes_back_within_2s(kube, platform, kind):
    ns, name = platform, DELETED[kind]
    before = get(kube, ns, kind, name)
    assert before is not None
    since = kube.now()
    started = time.monotonic()
    kube.run("delete", kind.lower(), name, "-n", ns, "--wait=false")

    def recreated() -> bool:
        obj = get(kube, ns, kind, name)
        return obj is not None and obj["metadata"]["uid"] != before["metadata"]["uid"]

    kube.wait_for(recreated, 10, f"{kind} {name} recreated", every=0.05)
    seen = time.monotonic() - started
    took = operator_reaction(kube, ns, kind, name, since)
    print(f"\n{kind}: recreated {took:.2f}s after its deletion (seen after {seen:.2f}s)")
    assert took < REPAIR_SECONDS, f"{kind}: {took:.2f}s"
