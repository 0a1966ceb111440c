"""The Job that applies contracting migrations held back during a rollout (pure parts)."""

from __future__ import annotations

from typing import Any

from messaging_operator.contracts import contract_job_name, contract_jobs, deferred_revision


def migrate_pod(version: str, message: str, exit_code: int = 0) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "auth-migrate", "app.kubernetes.io/version": version}
    terminated = {"exitCode": exit_code, "message": message}
    return {
        "kind": "Pod",
        "metadata": {"name": f"m-{version}", "labels": labels},
        "status": {"containerStatuses": [{"state": {"terminated": terminated}}]},
    }


def deployment(version: str, *, replicas: int = 2, updated: int = 2) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"labels": {"app.kubernetes.io/version": version}, "generation": 4},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": 4, "replicas": replicas, "updatedReplicas": updated},
    }


def test_a_held_back_contraction_runs_once_only_its_version_runs(platform):
    auth = platform.spec.services["auth"]  # 1.0.0
    live: dict[tuple[str, str], dict[str, Any]] = {
        ("Pod", "m"): migrate_pod("1.0.0", "contract-deferred: 0003"),
        ("Deployment", "chat-auth"): deployment("1.0.0", updated=1),
    }
    assert deferred_revision(auth, "1.0.0", live) == "0003"
    assert contract_jobs(platform, auth, live) == []  # still rolling out
    live[("Deployment", "chat-auth-canary")] = deployment("0.9.0")
    live[("Deployment", "chat-auth")] = deployment("1.0.0")
    assert contract_jobs(platform, auth, live) == []  # another version still runs
    del live[("Deployment", "chat-auth-canary")]
    (job,) = contract_jobs(platform, auth, live)
    assert job["metadata"]["name"] == contract_job_name(platform, auth, "1.0.0")
    assert "-migrate-" in job["metadata"]["name"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["messaging-auth", "migrate", "--allow-contract"]
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.0.0"
    assert {"name": "RUNNING_VERSIONS", "value": "1.0.0"} in container["env"]
    live[("Job", job["metadata"]["name"])] = job
    assert contract_jobs(platform, auth, live) == []  # ran: the Job is the record


def test_nothing_held_back_means_no_job(platform):
    auth = platform.spec.services["auth"]
    live = {
        ("Pod", "m"): migrate_pod("1.0.0", ""),
        ("Pod", "old"): migrate_pod("0.9.0", "contract-deferred: 0002"),
        ("Pod", "failed"): migrate_pod("1.0.0", "contract-deferred: 0003", exit_code=1),
        ("Deployment", "chat-auth"): deployment("1.0.0"),
    }
    assert deferred_revision(auth, "1.0.0", live) is None
    assert contract_jobs(platform, auth, live) == []
    assert contract_jobs(platform, platform.spec.services["relay"], live) == []
