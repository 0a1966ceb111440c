"""The Jobs that must finish before a version of a data-owning service runs: a backup of the
data the running version has (the first time that version's migration is wanted), then the
migration Job of the version. Shared by the stable Deployment and a canary's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from messaging_operator import backups
from messaging_operator.builders.deployments import build_service_env, image_for
from messaging_operator.builders.jobs import build_migration_job, migration_job_name
from messaging_operator.builders.metadata import child_name
from messaging_operator.spec import Platform, ServiceSpec
from messaging_operator.status import Observation


def schema_jobs(
    platform: Platform,
    service: ServiceSpec,
    version: str,
    live: dict[tuple[str, str], dict[str, Any]],
    seen: Observation,
    backup_targets: dict[str, list[str]],
    *,
    wanted: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The backup and migration Jobs to apply for `version` (none unless `wanted`, e.g. a
    canary no longer walking), and the live migration Job of that version if there is one.
    A version whose migration waits on a backup is added to `backup_targets` (the plan's)."""
    at = replace(service, version=version)
    job = live.get(("Job", migration_job_name(platform, at, version)))
    objects: list[dict[str, Any]] = []
    gate = backups.BackupGate(open=True)
    if job is None and wanted:  # a new schema: back up the data the running version has first
        running = backups.deployed_version(live, child_name(platform, service.name))
        gate = backups.backup_gate(platform, at, version, running, live, datetime.now(UTC))
        objects += gate.jobs if seen.migration_gate_open else []
        backup_targets.setdefault(service.name, []).append(version)
    if wanted and ((seen.migration_gate_open and gate.open) or job is not None):
        env = build_service_env(platform, at, version)
        migration = build_migration_job(platform, at, env, image_for(platform, at, version))
        if migration is not None:
            versions = backups.running_versions(platform, service, live)
            objects.append(backups.with_running_versions(migration, versions))
    return objects, job
