"""Backups before migrations, the scheduled-backup CronJob and the restore steps (pure parts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from messaging_operator import backups
from messaging_operator.builders.backups import (
    BACKUP_NAME_ANNOTATION,
    backup_job_name,
    build_backup_cronjob,
    build_restore_job,
    restore_job_name,
    restore_migration_job_name,
)
from messaging_operator.status import CONDITION_TYPES

NOW = datetime(2026, 12, 1, 7, 30, 5, tzinfo=UTC)
BACKUP = "auth/1.0.0/20261201T073005Z.dump"


def job(name: str, state: str | None, **annotations: str) -> dict[str, Any]:
    conditions = [{"type": state, "status": "True"}] if state else []
    return {
        "kind": "Job",
        "metadata": {"name": name, "labels": {}, "annotations": annotations},
        "status": {"conditions": conditions},
    }


def deployment(version: str, replicas: int, *, pods: int | None = None) -> dict[str, Any]:
    pods = replicas if pods is None else pods
    return {
        "kind": "Deployment",
        "metadata": {"labels": {"app.kubernetes.io/version": version}, "generation": 2},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": 2, "replicas": pods, "readyReplicas": pods},
    }


def env_of(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    container = spec["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_a_new_version_over_existing_data_is_backed_up_by_the_running_image_first(platform):
    auth = replace(platform.spec.services["auth"], version="1.1.0")
    gate = backups.backup_gate(platform, auth, "1.1.0", "1.0.0", {}, NOW)
    assert not gate.open
    (backup_job,) = gate.jobs
    assert backup_job["metadata"]["name"] == "chat-auth-backup-1-1-0"
    assert backup_job["metadata"]["annotations"][BACKUP_NAME_ANNOTATION] == BACKUP
    container = backup_job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/messaging/auth:1.0.0"
    assert container["command"] == ["messaging-auth", "backup", "--name", BACKUP]
    env = env_of(backup_job)
    assert env["S3_ENDPOINT_URL"] == "http://chat-minio.team.svc:9000"
    assert env["BACKUP_BUCKET"] == "backups"
    assert {"DATABASE_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY"} <= set(env)
    # Any exit but "try again" fails the Job at once, like a migration.
    assert backup_job["spec"]["podFailurePolicy"]["rules"][1]["action"] == "FailJob"


def test_the_gate_opens_when_the_backup_job_completes_and_never_for_fresh_services(platform):
    auth = platform.spec.services["auth"]
    name = backup_job_name(platform, auth, "1.1.0")
    running = {("Job", name): job(name, None)}
    assert not backups.backup_gate(platform, auth, "1.1.0", "1.0.0", running, NOW).open
    assert backups.backup_gate(platform, auth, "1.1.0", "1.0.0", running, NOW).jobs == []
    done = {("Job", name): job(name, "Complete")}
    assert backups.backup_gate(platform, auth, "1.1.0", "1.0.0", done, NOW).open
    fresh = backups.backup_gate(platform, auth, "1.0.0", None, {}, NOW)
    assert fresh.open
    assert fresh.jobs == []


def test_a_failed_or_running_backup_is_a_condition(platform):
    auth = platform.spec.services["auth"]
    name = backup_job_name(platform, auth, "1.1.0")
    targets = {"auth": ["1.1.0"]}
    failed = backups.evaluate_backups(platform, {("Job", name): job(name, "Failed")}, targets)
    assert (failed.reason, failed.failed) == ("BackupFailed", True)
    assert "the migration to 1.1.0 waits" in failed.message
    running = backups.evaluate_backups(platform, {("Job", name): job(name, None)}, targets)
    assert (running.status, running.reason) == ("False", "BackupRunning")
    assert backups.evaluate_backups(platform, {}, {}).ok
    assert {"BackupsSucceeded", "RestoreSucceeded"} <= set(CONDITION_TYPES)


def test_migration_jobs_say_which_versions_run(platform):
    auth = platform.spec.services["auth"]
    live = {
        ("Deployment", "chat-auth"): deployment("1.0.0", 2),
        ("Deployment", "chat-auth-canary"): deployment("1.1.0", 1),
    }
    assert backups.running_versions(platform, auth, live) == ["1.0.0", "1.1.0"]
    migration = {"spec": {"template": {"spec": {"containers": [{"env": []}]}}}}
    backups.with_running_versions(migration, ["1.0.0"])
    assert migration["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "RUNNING_VERSIONS", "value": "1.0.0"}
    ]


def test_schedule_makes_one_cronjob_per_database_service_with_retention(make_platform):
    platform = make_platform({"backups": {"schedule": "0 3 * * *", "retain": 4}})
    auth = platform.spec.services["auth"]
    cronjob = build_backup_cronjob(platform, auth, "1.0.0")
    assert cronjob is not None
    assert cronjob["metadata"]["name"] == "chat-auth-backup"
    assert cronjob["spec"]["schedule"] == "0 3 * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["messaging-auth", "backup", "--retain", "4"]
    assert build_backup_cronjob(platform, platform.spec.services["relay"], "1.0.0") is None
    unscheduled = make_platform()
    assert build_backup_cronjob(unscheduled, auth, "1.0.0") is None


def test_status_keeps_the_newest_retain_backup_names(platform):
    old = [f"auth/1.0.0/2026112{d}T000000Z.dump" for d in range(5)]
    name = "chat-auth-backup-1-1-0"
    finished = job(name, "Complete", **{BACKUP_NAME_ANNOTATION: "auth/1.0.0/20261130T000000Z.dump"})
    finished["metadata"]["labels"] = {"app.kubernetes.io/name": "auth-backup"}
    scheduled_pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "auth-backup"}},
        "status": {
            "containerStatuses": [
                {
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "message": "auth/1.1.0/20261201T030000Z.dump",
                        }
                    }
                }
            ]
        },
    }
    live = {("Job", name): finished, ("Pod", "p"): scheduled_pod}
    names = backups.recorded_backups("auth", live, old, retain=3)
    assert names == [
        "auth/1.1.0/20261201T030000Z.dump",
        "auth/1.0.0/20261130T000000Z.dump",
        "auth/1.0.0/20261124T000000Z.dump",
    ]


def restore_platform(make_platform):
    return make_platform({"services": {"auth": {"restore": {"backup": BACKUP}}}})


def test_restore_walks_its_steps_from_the_live_objects_alone(make_platform):
    platform = restore_platform(make_platform)
    auth = platform.spec.services["auth"]
    assert auth.restore_backup == BACKUP
    live: dict[tuple[str, str], dict[str, Any]] = {
        ("Deployment", "chat-auth"): deployment("1.0.0", 2)
    }

    def step() -> backups.RestoreStep:
        result = backups.plan_restore(platform, auth, "1.0.0", live, gate_open=True)
        assert result is not None
        return result

    first = step()
    assert (first.phase, first.scaled_down, first.jobs) == ("ScalingDown", True, [])
    assert backups.restoring(auth, first).replicas == 0
    live[("Deployment", "chat-auth")] = deployment("1.0.0", 0)
    second = step()
    assert second.phase == "Restoring"
    (restore,) = second.jobs
    assert restore["metadata"]["name"] == restore_job_name(platform, auth, BACKUP)
    container = restore["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["messaging-auth", "restore", BACKUP]
    assert {"POSTGRES_ADMIN_USER", "POSTGRES_ADMIN_PASSWORD"} <= set(env_of(restore))
    live[("Job", restore["metadata"]["name"])] = job(restore["metadata"]["name"], "Complete")
    third = step()
    assert third.phase == "Migrating"
    (migration,) = third.jobs
    migration_name = restore_migration_job_name(platform, auth, "1.0.0", BACKUP)
    assert migration["metadata"]["name"] == migration_name
    assert "-migrate-" in migration_name
    assert env_of(migration)["RUNNING_VERSIONS"] == ""
    live[("Job", migration_name)] = job(migration_name, "Complete")
    fourth = step()
    assert (fourth.phase, fourth.scaled_down) == ("ScalingUp", False)
    assert backups.restoring(auth, fourth).replicas == 2
    live[("Deployment", "chat-auth")] = deployment("1.0.0", 2)
    assert step().phase == "Succeeded"
    check = backups.evaluate_restores({"auth": step()})
    assert (check.status, check.reason) == ("True", "RestoreSucceeded")


def test_a_failed_restore_job_scales_back_on_the_old_database(make_platform):
    platform = restore_platform(make_platform)
    auth = platform.spec.services["auth"]
    name = restore_job_name(platform, auth, BACKUP)
    live = {
        ("Deployment", "chat-auth"): deployment("1.0.0", 0),
        ("Job", name): job(name, "Failed"),
    }
    step = backups.plan_restore(platform, auth, "1.0.0", live, gate_open=True)
    assert step is not None
    assert (step.phase, step.failed, step.scaled_down) == ("Failed", True, False)
    check = backups.evaluate_restores({"auth": step})
    assert (check.reason, check.failed) == ("RestoreFailed", True)
    assert "previous database, untouched" in check.message


def test_restore_events_follow_the_steps_recorded_in_status():
    old = {"auth": {"restore": {"backup": BACKUP, "phase": "ScalingDown", "message": "m"}}}
    new = {"auth": {"restore": {"backup": BACKUP, "phase": "Restoring", "message": "restoring"}}}
    assert backups.restore_events(old, new) == [("Normal", "Restoring", "auth: restoring")]
    assert backups.restore_events(new, new) == []


def test_no_restore_without_a_request_or_for_stateless_services(platform):
    assert backups.plan_restore(platform, platform.spec.services["auth"], "1", {}, True) is None
    relay = replace(platform.spec.services["relay"], restore_backup="relay/1/20261201T000000Z.dump")
    assert backups.plan_restore(platform, relay, "1", {}, True) is None
    assert backups.evaluate_restores({}).reason == "NoRestoreRequested"


def test_restore_job_uses_the_admin_role_of_an_external_postgres(make_platform):
    platform = make_platform({"postgres": {"mode": "external", "secretRef": {"name": "pg"}}})
    job_ = build_restore_job(platform, platform.spec.services["auth"], "1.0.0", BACKUP)
    ref = env_of(job_)["POSTGRES_ADMIN_USER"]["secretKeyRef"]
    assert ref == {"name": "pg", "key": "username"}


def test_an_autoscaled_service_is_held_at_zero_then_handed_back_to_its_autoscaler(make_platform):
    platform = make_platform(
        {
            "services": {
                "messages": {
                    "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 6},
                    "restore": {"backup": "messages/1.0.0/20261201T073005Z.dump"},
                }
            }
        }
    )
    messages = platform.spec.services["messages"]
    live: dict[tuple[str, str], dict[str, Any]] = {
        ("Deployment", "chat-messages"): deployment("1.0.0", 3)
    }
    first = backups.plan_restore(platform, messages, "1.0.0", live, gate_open=True)
    held = backups.restoring(messages, first)
    assert (held.replicas, held.autoscaling.enabled) == (0, False)
    backup = "messages/1.0.0/20261201T073005Z.dump"
    for name in (
        restore_job_name(platform, messages, backup),
        restore_migration_job_name(platform, messages, "1.0.0", backup),
    ):
        live[("Job", name)] = job(name, "Complete")
    live[("Deployment", "chat-messages")] = deployment("1.0.0", 1, pods=0)
    scaling = backups.plan_restore(platform, messages, "1.0.0", live, gate_open=True)
    assert scaling is not None
    assert scaling.phase == "ScalingUp"
    assert backups.restoring(messages, scaling).autoscaling.enabled
    live[("Deployment", "chat-messages")] = deployment("1.0.0", 4)  # the HPA's count
    done = backups.plan_restore(platform, messages, "1.0.0", live, gate_open=True)
    assert done is not None
    assert done.phase == "Succeeded"


def test_a_restore_waits_while_a_canary_walks(make_platform):
    platform = restore_platform(make_platform)
    auth = platform.spec.services["auth"]
    live = {
        ("Deployment", "chat-auth"): deployment("1.0.0", 2),
        ("Deployment", "chat-auth-canary"): deployment("1.1.0", 1),
    }
    step = backups.plan_restore(platform, auth, "1.0.0", live, gate_open=True)
    assert step is not None
    assert (step.phase, step.scaled_down, step.jobs) == ("Waiting", False, [])
    assert "canary of auth runs" in step.message
    live[("Deployment", "chat-auth-canary")] = deployment("1.1.0", 0)
    after = backups.plan_restore(platform, auth, "1.0.0", live, gate_open=True)
    assert after is not None
    assert after.phase == "ScalingDown"
