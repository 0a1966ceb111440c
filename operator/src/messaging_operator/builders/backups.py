"""Backup and restore Jobs, the scheduled-backup CronJob, and the migration after a restore.

Each runs the service's own image with the kit's `backup`, `restore` or `migrate` command; the
dump goes to the `backups` bucket of the platform's object store (managed MinIO or the user's S3).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from messaging_operator.builders.deployments import build_service_env, image_for
from messaging_operator.builders.infrastructure import object_storage_endpoint
from messaging_operator.builders.jobs import (
    MIGRATION_BACKOFF_LIMIT,
    build_migration_job,
    job_object,
    migration_job_name,
)
from messaging_operator.builders.metadata import (
    NON_ROOT_UID,
    child_name,
    content_hash,
    dns_label,
    fit_name,
    object_meta,
)
from messaging_operator.builders.secrets import (
    object_storage_secret_name,
    postgres_admin_secret_name,
)
from messaging_operator.spec import Platform, ServiceSpec

BACKUP_BUCKET = "backups"
# On each backup Job: the object name it writes (the operator records it once the Job completes).
BACKUP_NAME_ANNOTATION = "messaging.platform.dev/backup"
BACKUP_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
# Scheduled backups keep a few finished Jobs for `kubectl get jobs`; their names are in status.
CRONJOB_HISTORY = 3


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _name(platform: Platform, component: str) -> str:
    return fit_name(child_name(platform, component))


def backup_object_name(service: ServiceSpec, version: str, at: str) -> str:
    """`<service>/<version>/<UTC time>.dump`, as the kit's backup command names them."""
    return f"{service.name}/{version}/{at}.dump"


def backup_job_name(platform: Platform, service: ServiceSpec, target_version: str) -> str:
    """The backup taken before `target_version`'s migration: one per service and version."""
    return _name(platform, f"{service.name}-backup-{dns_label(target_version)}")


def backup_cronjob_name(platform: Platform, service: ServiceSpec) -> str:
    # Never shortened, as no fixed name is: MAX_PLATFORM_NAME is what makes this one fit.
    return child_name(platform, f"{service.name}-backup")


def restore_job_name(platform: Platform, service: ServiceSpec, backup: str) -> str:
    return _name(platform, f"{service.name}-restore-{content_hash(backup)[:10]}")


def restore_migration_job_name(
    platform: Platform, service: ServiceSpec, version: str, backup: str
) -> str:
    """The migration after a restore: its own Job (the version's first one is long complete)."""
    return fit_name(f"{migration_job_name(platform, service, version)}-r{content_hash(backup)[:8]}")


def storage_env(platform: Platform) -> list[dict[str, Any]]:
    storage = platform.spec.object_storage
    secret = object_storage_secret_name(platform) if storage.managed else str(storage.secret_ref)
    endpoint = (
        {"name": "S3_ENDPOINT_URL", "value": object_storage_endpoint(platform)}
        if storage.managed
        else _secret_env("S3_ENDPOINT_URL", secret, "endpoint")
    )
    return [
        endpoint,
        _secret_env("S3_ACCESS_KEY", secret, "accessKey"),
        _secret_env("S3_SECRET_KEY", secret, "secretKey"),
        {"name": "BACKUP_BUCKET", "value": BACKUP_BUCKET},
    ]


def _env(platform: Platform, service: ServiceSpec, version: str) -> list[dict[str, Any]]:
    by_name = {e["name"]: e for e in build_service_env(platform, service, version)}
    by_name.update({e["name"]: e for e in storage_env(platform)})
    return list(by_name.values())


def _container(
    platform: Platform, service: ServiceSpec, version: str, name: str, args: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image_for(platform, service, version),
        "command": [f"messaging-{service.name}", *args],
        "env": _env(platform, service, version),
        "envFrom": [{"configMapRef": {"name": child_name(platform, service.name)}}],
        # The command writes the backup's name (or why a restore failed) here.
        "terminationMessagePolicy": "File",
    }


def _retain_args(platform: Platform) -> list[str]:
    return ["--retain", str(platform.spec.backups.retain)] if platform.spec.backups.schedule else []


def _data_job(
    platform: Platform,
    service: ServiceSpec,
    version: str,
    name: str,
    task: str,
    args: list[str],
    extra_env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A backup or restore Job: the service's image at `version`, failing fast like a migration."""
    container = _container(platform, service, version, task, args)
    container["env"] = [*container["env"], *(extra_env or [])]
    return job_object(
        platform,
        name,
        f"{service.name}-{task}",
        container,
        uid=NON_ROOT_UID,
        version=version,
        pod_annotations=service.pod_annotations,
        backoff_limit=MIGRATION_BACKOFF_LIMIT,
        fail_fast=True,
    )


def build_backup_job(
    platform: Platform, service: ServiceSpec, running: str, target: str, object_name: str
) -> dict[str, Any]:
    """pg_dump by the running version's image (its schema is what the dump holds)."""
    args = ["backup", "--name", object_name, *_retain_args(platform)]
    name = backup_job_name(platform, service, target)
    job = _data_job(platform, service, running, name, "backup", args)
    job["metadata"]["annotations"] = {BACKUP_NAME_ANNOTATION: object_name}
    return job


def build_backup_cronjob(
    platform: Platform, service: ServiceSpec, running: str
) -> dict[str, Any] | None:
    schedule = platform.spec.backups.schedule
    if not schedule or not service.owns_database:
        return None
    name = backup_cronjob_name(platform, service)
    job = _data_job(platform, service, running, name, "backup", ["backup", *_retain_args(platform)])
    meta = object_meta(platform, backup_cronjob_name(platform, service), f"{service.name}-backup")
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            # A backup still running when the next falls due: skip that one, never two at once.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": CRONJOB_HISTORY,
            "failedJobsHistoryLimit": CRONJOB_HISTORY,
            "jobTemplate": {"metadata": {"labels": job["metadata"]["labels"]}, "spec": job["spec"]},
        },
    }


def admin_env(platform: Platform) -> list[dict[str, Any]]:
    """A role that may create and rename databases: the restore swaps databases by renaming."""
    pg = platform.spec.postgres
    secret = postgres_admin_secret_name(platform) if pg.managed else str(pg.secret_ref)
    return [
        _secret_env("POSTGRES_ADMIN_USER", secret, "username"),
        _secret_env("POSTGRES_ADMIN_PASSWORD", secret, "password"),
    ]


def build_restore_job(
    platform: Platform, service: ServiceSpec, version: str, backup: str
) -> dict[str, Any]:
    name = restore_job_name(platform, service, backup)
    args = ["restore", backup]
    job = _data_job(platform, service, version, name, "restore", args, admin_env(platform))
    job["metadata"]["annotations"] = {BACKUP_NAME_ANNOTATION: backup}
    return job


def migration_job_named(
    platform: Platform, service: ServiceSpec, version: str, name: str
) -> dict[str, Any]:
    """The service's migration Job at `version` under another name (a second run of it)."""
    at_version = replace(service, version=version)
    job = build_migration_job(
        platform,
        at_version,
        build_service_env(platform, at_version, version),
        image_for(platform, service, version),
    )
    assert job is not None, "only database services migrate"
    job["metadata"]["name"] = name
    return job


def build_restore_migration_job(
    platform: Platform, service: ServiceSpec, version: str, backup: str
) -> dict[str, Any]:
    """`migrate` at the version that will run again: the backup may hold an older schema."""
    name = restore_migration_job_name(platform, service, version, backup)
    return migration_job_named(platform, service, version, name)
