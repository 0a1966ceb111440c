"""Backups before migrations and the declarative restore, against the real API server and the
real operator. kwok runs no container: a Job "succeeds" (or fails via the exit-code annotation),
so these tests prove the order of what the operator asks for; services/kit/tests/test_backup.py
proves the commands themselves against real PostgreSQL and MinIO."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.cluster

FAIL_JOB = {"sim.messaging.platform.dev/exit-code": "1"}  # kwok stage: Job pods exit 1
BACKUP_NAME = re.compile(r"^auth/1\.0\.0/\d{8}T\d{6}Z\.dump$")
RESTORE_STEPS = [
    "RestoreScalingDown",
    "Restoring",
    "RestoreMigrating",
    "RestoreScalingUp",
    "RestoreSucceeded",
]


def _job(kube, ns: str, name: str) -> dict[str, Any] | None:
    result = kube.run("get", "job", name, "-n", ns, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def _condition(kube, ns: str, kind: str) -> dict[str, Any]:
    status = kube.platform(ns).get("status") or {}
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def _ready(kube, ns: str) -> bool:
    body = kube.platform(ns)
    status = body.get("status") or {}
    return bool(
        status.get("phase") == "Ready"
        and status.get("observedGeneration") == body["metadata"]["generation"]
    )


def _patch(kube, ns: str, patch: dict[str, Any]) -> None:
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))


def _container(job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def _events(kube, ns: str) -> list[dict[str, Any]]:
    items = kube.json("get", "events", "-n", ns, "--field-selector", "involvedObject.name=chat")
    return sorted(items["items"], key=lambda e: int(e["metadata"]["resourceVersion"]))


def _deployment_back(kube, ns: str, replicas: int) -> bool:
    deployment = kube.json("get", "deploy", "chat-auth", "-n", ns)
    status = deployment.get("status") or {}
    return bool(
        deployment["spec"].get("replicas") == replicas
        and status.get("readyReplicas") == replicas
        and status.get("replicas") == replicas
    )


@pytest.fixture(scope="module")
def ready(kube, operator, module_namespace, minimal_sample) -> str:
    kube.apply(module_namespace, minimal_sample)
    kube.wait_for(lambda: _ready(kube, module_namespace), 120, "phase Ready at 1.0.0")
    return module_namespace


def test_a_version_bump_backs_up_before_its_migration_job(kube, ready):
    ns = ready
    assert _job(kube, ns, "chat-auth-backup-1-0-0") is None, "a fresh install has no data"
    _patch(kube, ns, {"spec": {"services": {"auth": {"version": "1.1.0"}}}})
    migrate = kube.wait_for(
        lambda: _job(kube, ns, "chat-auth-migrate-1-1-0"), 60, "the 1.1.0 migration Job"
    )
    backup = _job(kube, ns, "chat-auth-backup-1-1-0")
    assert backup is not None, "the migration Job came without a backup Job"
    # The migration Job was created only once the backup had completed.
    assert backup["status"]["completionTime"] <= migrate["metadata"]["creationTimestamp"]
    name = backup["metadata"]["annotations"]["messaging.platform.dev/backup"]
    assert BACKUP_NAME.match(name), name
    container = _container(backup)
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.0.0"  # the schema it dumps
    assert container["command"] == ["messaging-auth", "backup", "--name", name]
    env = {e["name"]: e.get("value") for e in _container(migrate)["env"]}
    assert env["RUNNING_VERSIONS"] == "1.0.0"
    kube.wait_for(lambda: _ready(kube, ns), 60, "Ready at auth 1.1.0")
    status = kube.platform(ns)["status"]
    assert status["services"]["auth"]["backups"] == [name]
    assert status["services"]["auth"]["version"] == "1.1.0"
    assert _condition(kube, ns, "BackupsSucceeded")["status"] == "True"
    jobs = {j["metadata"]["name"] for j in kube.children(ns, "job")}
    assert not {j for j in jobs if "-backup-" in j} - {"chat-auth-backup-1-1-0"}


def test_a_held_back_contraction_runs_in_its_own_job_after_the_rollout(kube, ready):
    """Under kwok no `migrate` runs, so the termination message the kit writes when it holds a
    contracting revision back is put on the finished migration pod by hand."""
    ns = ready  # auth runs 1.1.0 (the test above)
    kube.wait_for(lambda: _ready(kube, ns), 60, "Ready at auth 1.1.0")
    assert _job(kube, ns, "chat-auth-migrate-1-1-0-contract") is None
    pods = kube.json(
        "get", "pods", "-n", ns, "-l", "batch.kubernetes.io/job-name=chat-auth-migrate-1-1-0"
    )["items"]
    pod = pods[0]["metadata"]["name"]
    message = [
        {
            "op": "add",
            "path": "/status/containerStatuses/0/state/terminated/message",
            "value": "contract-deferred: 0003",
        }
    ]
    kube.run(
        "patch", "pod", pod, "-n", ns, "--subresource=status", "--type=json",
        "-p", json.dumps(message),
    )  # fmt: skip
    job = kube.wait_for(
        lambda: _job(kube, ns, "chat-auth-migrate-1-1-0-contract"), 30, "the contract Job"
    )
    container = _container(job)
    assert container["command"] == ["messaging-auth", "migrate", "--allow-contract"]
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.1.0"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RUNNING_VERSIONS"] == "1.1.0"
    kube.wait_for(lambda: _ready(kube, ns), 30, "Ready with the contract Job done")


def _set_termination_message(kube, ns: str, job: str, message: str) -> None:
    """What the kit's command writes to /dev/termination-log, put on the pod kwok finished."""
    pods = kube.wait_for(
        lambda: [
            p
            for p in kube.json(
                "get", "pods", "-n", ns, "-l", f"batch.kubernetes.io/job-name={job}"
            )["items"]
            if (p.get("status") or {}).get("phase") == "Succeeded"
        ],
        30,
        f"the finished pod of Job {job}",
    )
    patch = [
        {
            "op": "add",
            "path": "/status/containerStatuses/0/state/terminated/message",
            "value": message,
        }
    ]
    kube.run(
        "patch", "pod", pods[0]["metadata"]["name"], "-n", ns, "--subresource=status",
        "--type=json", "-p", json.dumps(patch),
    )  # fmt: skip


def test_scheduled_backups_are_cronjobs_whose_names_reach_status(kube, ready):
    ns = ready
    _patch(kube, ns, {"spec": {"backups": {"schedule": "0 3 * * *", "retain": 2}}})
    cronjobs = kube.wait_for(
        lambda: len(found := kube.children(ns, "cronjob")) == 6 and found, 30, "6 CronJobs"
    )
    names = sorted(c["metadata"]["name"] for c in cronjobs)
    services = ("auth", "groups", "media", "messages", "notifications", "users")
    assert names == [f"chat-{s}-backup" for s in services]
    auth = next(c for c in cronjobs if c["metadata"]["name"] == "chat-auth-backup")
    assert auth["spec"]["schedule"] == "0 3 * * *"
    template = auth["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert template["command"] == ["messaging-auth", "backup", "--retain", "2"]
    # One scheduled run, started by hand (the schedule is hours away).
    kube.run(
        "create", "job", "--from=cronjob/chat-auth-backup", "chat-auth-backup-manual", "-n", ns
    )
    scheduled = f"auth/1.1.0/{datetime.now(UTC):%Y%m%dT%H%M%SZ}.dump"  # the newest one
    _set_termination_message(kube, ns, "chat-auth-backup-manual", scheduled)
    recorded = kube.wait_for(
        lambda: (
            (kube.platform(ns)["status"]["services"]["auth"].get("backups") or [None])[0]
            == scheduled
            and kube.platform(ns)["status"]["services"]["auth"]["backups"]
        ),
        30,
        "the scheduled backup's name in status",
    )
    assert len(recorded) == 2  # retain: the newest two
    _patch(kube, ns, {"spec": {"backups": {"schedule": None}}})
    kube.wait_for(lambda: not kube.children(ns, "cronjob"), 30, "the CronJobs to be removed")


def test_a_restore_walks_its_steps_in_status_and_events(kube, ready):
    ns = ready
    backup = "auth/1.0.0/20261201T000000Z.dump"
    _patch(kube, ns, {"spec": {"services": {"auth": {"restore": {"backup": backup}}}}})
    kube.wait_for(
        lambda: _condition(kube, ns, "RestoreSucceeded").get("reason") == "RestoreSucceeded",
        90,
        "the restore to succeed",
    )
    reasons = [e["reason"] for e in _events(kube, ns) if e["reason"] in RESTORE_STEPS]
    assert reasons == RESTORE_STEPS
    jobs = {j["metadata"]["name"]: j for j in kube.children(ns, "job")}
    (restore,) = [j for n, j in jobs.items() if n.startswith("chat-auth-restore-")]
    assert _container(restore)["command"] == ["messaging-auth", "restore", backup]
    assert _container(restore)["image"] == "ghcr.io/acme/messaging/auth:1.1.0"
    (migrate,) = [j for n, j in jobs.items() if n.startswith("chat-auth-migrate-1-1-0-r")]
    assert migrate["metadata"]["creationTimestamp"] >= restore["status"]["completionTime"]
    kube.wait_for(lambda: _deployment_back(kube, ns, 2), 30, "chat-auth back at 2 replicas")
    status = kube.platform(ns)["status"]
    assert status["services"]["auth"]["restore"]["phase"] == "Succeeded"
    kube.wait_for(lambda: _ready(kube, ns), 30, "Ready after the restore")
    # Done is done: the request left in the spec causes no further writes (resync every 5 s).
    time.sleep(3)
    since = kube.now()
    time.sleep(8)
    writes = kube.audit_writes(ns, since)
    assert writes == [], [(w["verb"], w["requestURI"], w.get("userAgent")) for w in writes]


def test_a_failed_restore_job_leaves_the_service_running_with_restore_failed(kube, ready):
    ns = ready
    backup = "auth/1.1.0/20261201T000001Z.dump"
    patch = {"podAnnotations": FAIL_JOB, "restore": {"backup": backup}}
    _patch(kube, ns, {"spec": {"services": {"auth": patch}}})
    condition = kube.wait_for(
        lambda: (
            (c := _condition(kube, ns, "RestoreSucceeded")).get("reason") == "RestoreFailed" and c
        ),
        90,
        "condition RestoreSucceeded=False/RestoreFailed",
    )
    assert condition["status"] == "False"
    assert "runs on its previous database, untouched" in condition["message"]
    assert backup in condition["message"]
    kube.wait_for(lambda: _deployment_back(kube, ns, 2), 30, "chat-auth back at 2 replicas")
    assert kube.ready_reason(ns) == "RestoreFailed"
    warnings = [e for e in _events(kube, ns) if e["reason"] == "RestoreFailed"]
    assert warnings
    assert warnings[0]["type"] == "Warning"
    assert kube.platform(ns)["status"]["services"]["auth"]["restore"]["phase"] == "Failed"
