"""Data safety decisions: a backup before each new version's migration, scheduled backups, and
the declarative restore (`spec.services.<name>.restore.backup`).

Pure functions of the spec and the live objects, so every reconcile reaches the same decision:
the Jobs are the record of what ran (never pruned), and the status shows the step reached.

Restore steps, one service at a time:
  ScalingDown -> Restoring (restore Job) -> Migrating (migrate Job of the running version) ->
  ScalingUp -> Succeeded; or Failed (restore Job failed: the old database is untouched and the
  service scales back on it; or the migration after it failed: the service stays at zero).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from messaging_operator.builders.backups import (
    BACKUP_NAME_ANNOTATION,
    BACKUP_TIME_FORMAT,
    backup_job_name,
    backup_object_name,
    build_backup_job,
    build_restore_job,
    build_restore_migration_job,
    restore_job_name,
    restore_migration_job_name,
)
from messaging_operator.builders.metadata import COMPONENT_LABEL, VERSION_LABEL, child_name
from messaging_operator.spec import Platform, ServiceSpec
from messaging_operator.status import Check, job_state

Live = Mapping[tuple[str, str], dict[str, Any]]
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*/[A-Za-z0-9._+-]+/\d{8}T\d{6}Z\.dump$")
RESTORE_EVENT_REASONS = {
    "ScalingDown": "RestoreScalingDown",
    "Restoring": "Restoring",
    "Migrating": "RestoreMigrating",
    "ScalingUp": "RestoreScalingUp",
    "Succeeded": "RestoreSucceeded",
}


@dataclass(frozen=True)
class BackupGate:
    """Whether the migration to a new version may start, and the backup Job to create first."""

    open: bool
    jobs: list[dict[str, Any]] = field(default_factory=list)


def deployed_version(live: Live, name: str) -> str | None:
    deployment = live.get(("Deployment", name))
    return ((deployment or {}).get("metadata", {}).get("labels") or {}).get(VERSION_LABEL)


def running_versions(platform: Platform, service: ServiceSpec, live: Live) -> list[str]:
    """Versions its Deployments (stable and canary) run now: RUNNING_VERSIONS of `migrate`."""
    names = (child_name(platform, service.name), child_name(platform, f"{service.name}-canary"))
    return sorted({v for v in (deployed_version(live, n) for n in names) if v})


def with_running_versions(job: dict[str, Any], versions: list[str]) -> dict[str, Any]:
    """The migration Job with RUNNING_VERSIONS: contracting revisions wait while others run."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        *container.get("env", []),
        {"name": "RUNNING_VERSIONS", "value": ",".join(versions)},
    ]
    return job


def backup_gate(
    platform: Platform,
    service: ServiceSpec,
    target: str,
    running: str | None,
    live: Live,
    now: datetime,
) -> BackupGate:
    """Call only while `target`'s migration Job does not exist yet.

    Existing data (a Deployment runs another version) is backed up first, by the running
    version's image; a fresh service has nothing to back up.
    """
    job = live.get(("Job", backup_job_name(platform, service, target)))
    if job is not None:
        return BackupGate(open=job_state(job)[0] == "Complete")
    if running is None or running == target:
        return BackupGate(open=True)
    name = backup_object_name(service, running, now.strftime(BACKUP_TIME_FORMAT))
    return BackupGate(False, [build_backup_job(platform, service, running, target, name)])


def newest_first(names: set[str] | list[str]) -> list[str]:
    return sorted(names, key=lambda name: (PurePosixPath(name).name, name), reverse=True)


def _component(obj: dict[str, Any]) -> str:
    return str((obj["metadata"].get("labels") or {}).get(COMPONENT_LABEL, ""))


def recorded_backups(service: str, live: Live, old: list[str], retain: int) -> list[str]:
    """The newest `retain` backup names: what status said, plus finished backup Jobs (their
    annotation) and scheduled backup pods (their termination message)."""
    names = {n for n in old if NAME_PATTERN.match(n)}
    for (kind, _), obj in live.items():
        if _component(obj) != f"{service}-backup":
            continue
        if kind == "Job" and job_state(obj)[0] == "Complete":
            name = (obj["metadata"].get("annotations") or {}).get(BACKUP_NAME_ANNOTATION, "")
            if NAME_PATTERN.match(name):
                names.add(name)
        if kind == "Pod":
            for status in (obj.get("status") or {}).get("containerStatuses") or []:
                ended = (status.get("state") or {}).get("terminated") or {}
                message = str(ended.get("message", "")).strip()
                if ended.get("exitCode") == 0 and NAME_PATTERN.match(message):
                    names.add(message)
    return newest_first(names)[:retain]


def evaluate_backups(platform: Platform, live: Live, targets: Mapping[str, list[str]]) -> Check:
    """targets: service -> versions about to be migrated to (stable target, canary version)."""
    running = []
    for service in platform.spec.enabled_services:
        for version in targets.get(service.name, []):
            name = backup_job_name(platform, service, version)
            state, detail = job_state(live.get(("Job", name)))
            if state == "Failed":
                return Check(
                    "False",
                    "BackupFailed",
                    f"{service.name}: backup Job {name} failed ({detail}); the migration to "
                    f"{version} waits for a backup",
                    failed=True,
                )
            if state == "Running":
                running.append(f"{service.name} (before {version})")
    if running:
        return Check("False", "BackupRunning", "backing up: " + ", ".join(running))
    return Check("True", "BackupsSucceeded", "every new version's migration had its backup first")


@dataclass(frozen=True)
class RestoreStep:
    backup: str
    phase: str
    message: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    scaled_down: bool = False  # the Deployment is held at zero replicas
    failed: bool = False
    reason: str = ""

    def to_status(self) -> dict[str, str]:
        return {"backup": self.backup, "phase": self.phase, "message": self.message}


def _scaled_to_zero(deployment: dict[str, Any] | None) -> bool:
    if deployment is None:
        return True
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    current = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
    return int(spec.get("replicas", 1)) == 0 and int(status.get("replicas", 0)) == 0 and current


def _ready(deployment: dict[str, Any] | None, replicas: int | None) -> bool:
    """Scaled back and ready; replicas None: an autoscaler picks the count (at least one)."""
    spec, status = (deployment or {}).get("spec") or {}, (deployment or {}).get("status") or {}
    want = replicas if replicas is not None else max(1, int(spec.get("replicas", 1)))
    have = int(status.get("replicas", 0))
    return have == want and int(status.get("readyReplicas", 0)) >= want


def plan_restore(
    platform: Platform, service: ServiceSpec, version: str | None, live: Live, gate_open: bool
) -> RestoreStep | None:
    """The step a declared restore is at, from the live Jobs and Deployment alone."""
    backup = service.restore_backup
    if not backup or not service.owns_database:
        return None
    name = service.name
    deployment = live.get(("Deployment", child_name(platform, name)))
    if version is None:
        return RestoreStep(backup, "Waiting", f"{name} is not deployed yet; restore waits")
    restore_name = restore_job_name(platform, service, backup)
    restore = build_restore_job(platform, service, version, backup)
    state, detail = job_state(live.get(("Job", restore_name)))
    if state == "Absent":
        canary = live.get(("Deployment", child_name(platform, f"{name}-canary"))) or {}
        if int((canary.get("spec") or {}).get("replicas", 0)) > 0:
            # Two versions on one database mid-walk: restoring under one of them is no restore.
            message = f"a canary of {name} runs; the restore waits until it is promoted or aborted"
            return RestoreStep(backup, "Waiting", message)
        if not _scaled_to_zero(deployment) or not gate_open:
            message = f"scaling {name} to zero before restoring {backup}"
            return RestoreStep(backup, "ScalingDown", message, scaled_down=True)
        return RestoreStep(backup, "Restoring", f"restoring {backup}", [restore], True)
    if state == "Running":
        return RestoreStep(backup, "Restoring", f"Job {restore_name} restoring {backup}", [], True)
    if state == "Failed":
        message = (
            f"{name}: restore Job {restore_name} of {backup} failed ({detail}); {name} runs on "
            "its previous database, untouched"
        )
        return RestoreStep(backup, "Failed", message, failed=True, reason="RestoreFailed")
    migration = build_restore_migration_job(platform, service, version, backup)
    migration_name = restore_migration_job_name(platform, service, version, backup)
    state, detail = job_state(live.get(("Job", migration_name)))
    if state in ("Absent", "Running"):
        message = f"migrating the restored database to {version} (Job {migration_name})"
        return RestoreStep(
            backup, "Migrating", message, [with_running_versions(migration, [])], True
        )
    if state == "Failed":
        message = (
            f"{name}: {backup} was restored but Job {migration_name} failed ({detail}); "
            f"{name} stays at zero replicas"
        )
        return RestoreStep(backup, "Failed", message, [], True, True, "RestoreMigrationFailed")
    replicas = None if service.autoscaling.enabled else service.replicas
    if not _ready(deployment, replicas):
        back_to = "its autoscaler's count" if replicas is None else str(replicas)
        return RestoreStep(backup, "ScalingUp", f"scaling {name} back to {back_to}")
    return RestoreStep(backup, "Succeeded", f"{name} runs on the data of {backup}")


def restoring(service: ServiceSpec, step: RestoreStep | None) -> ServiceSpec:
    """The service as deployed during a restore step: zero replicas, no autoscaler."""
    if step is None or not step.scaled_down:
        return service
    return replace(service, replicas=0, autoscaling=replace(service.autoscaling, enabled=False))


def evaluate_restores(steps: Mapping[str, RestoreStep]) -> Check:
    if not steps:
        return Check("True", "NoRestoreRequested", "no service asks for a restore")
    for step in steps.values():
        if step.failed:
            return Check("False", step.reason, step.message, failed=True)
    busy = [
        f"{name}: {step.phase} ({step.message})"
        for name, step in sorted(steps.items())
        if step.phase != "Succeeded"
    ]
    if busy:
        return Check("False", "RestoreInProgress", "; ".join(busy))
    done = ", ".join(f"{name} from {s.backup}" for name, s in sorted(steps.items()))
    return Check("True", "RestoreSucceeded", f"restored {done}")


def restore_events(
    old_services: Mapping[str, Any], new_services: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(type, reason, message) for every restore step first reached since the last status."""
    events = []
    for name, entry in sorted(new_services.items()):
        new = entry.get("restore") or {}
        old = (old_services.get(name) or {}).get("restore") or {}
        if not new or (old.get("backup"), old.get("phase")) == (new.get("backup"), new["phase"]):
            continue
        if new["phase"] == "Failed":
            continue  # the RestoreSucceeded condition turning False posts the Warning
        reason = RESTORE_EVENT_REASONS.get(new["phase"], "Restore")
        events.append(("Normal", reason, f"{name}: {new['message']}"))
    return events


def annotate_services(
    platform: Platform,
    per_service: dict[str, dict[str, Any]],
    live: Live,
    steps: Mapping[str, RestoreStep],
    old_status: Mapping[str, Any],
) -> None:
    """status.services.<name>: `backups` (newest first, at most retain) and `restore`."""
    old_services = old_status.get("services") or {}
    for service in platform.spec.enabled_services:
        entry = per_service.get(service.name)
        if entry is None or not service.owns_database:
            continue
        old = list((old_services.get(service.name) or {}).get("backups") or [])
        names = recorded_backups(service.name, live, old, platform.spec.backups.retain)
        if names:
            entry["backups"] = names
        if service.name in steps:
            entry["restore"] = steps[service.name].to_status()
