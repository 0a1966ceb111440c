"""Contracting migrations held back during a rollout, applied once only the new version runs.

A migration Job runs while the previous version still serves (RUNNING_VERSIONS names it), so
the kit's `migrate` stops before a revision marked `contract = True` and says so in its
termination message (`contract-deferred: <revision>`). Once the Deployment runs only that
version, fully rolled out, with no canary of another version, the operator runs the same image
with `migrate --allow-contract` in a Job of its own, kept as the record that it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from messaging_operator.backups import running_versions, with_running_versions
from messaging_operator.builders.backups import migration_job_named
from messaging_operator.builders.jobs import contract_job_for, migration_job_name
from messaging_operator.builders.metadata import COMPONENT_LABEL, VERSION_LABEL, child_name
from messaging_operator.spec import Platform, ServiceSpec

Live = Mapping[tuple[str, str], dict[str, Any]]
DEFERRED_PREFIX = "contract-deferred:"


def contract_job_name(platform: Platform, service: ServiceSpec, version: str) -> str:
    return contract_job_for(migration_job_name(platform, service, version))


def deferred_revision(service: ServiceSpec, version: str, live: Live) -> str | None:
    """The revision a finished migration pod of `version` held back, from its termination
    message; None when it held nothing back (or kwok ran it: no message)."""
    for (kind, _), pod in live.items():
        labels = pod["metadata"].get("labels") or {}
        if kind != "Pod" or labels.get(COMPONENT_LABEL) != f"{service.name}-migrate":
            continue
        if labels.get(VERSION_LABEL) != version:
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            ended = (status.get("state") or {}).get("terminated") or {}
            message = str(ended.get("message", "")).strip()
            if ended.get("exitCode") == 0 and message.startswith(DEFERRED_PREFIX):
                return message[len(DEFERRED_PREFIX) :].strip()
    return None


def _only_version_running(
    platform: Platform, service: ServiceSpec, version: str, live: Live
) -> bool:
    if running_versions(platform, service, live) != [version]:
        return False
    deployment = live.get(("Deployment", child_name(platform, service.name))) or {}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    want = int(spec.get("replicas", 1))
    current = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
    return (
        current
        and int(status.get("updatedReplicas", 0)) >= want
        and int(status.get("replicas", 0)) == want
    )


def build_contract_job(platform: Platform, service: ServiceSpec, version: str) -> dict[str, Any]:
    name = contract_job_name(platform, service, version)
    job = migration_job_named(platform, service, version, name)
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [*container["command"], "--allow-contract"]
    return with_running_versions(job, [version])


def contract_jobs(platform: Platform, service: ServiceSpec, live: Live) -> list[dict[str, Any]]:
    """The Job applying held-back contractions of the service's version, when it is due."""
    if not service.owns_database:
        return []
    version = service.version
    if ("Job", contract_job_name(platform, service, version)) in live:
        return []  # ran (or runs): Jobs are create-only, the record stays
    if deferred_revision(service, version, live) is None:
        return []
    if not _only_version_running(platform, service, version, live):
        return []
    return [build_contract_job(platform, service, version)]
