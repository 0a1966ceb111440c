"""A canary's own children: its Deployment and Service at the canary version, and (for
services that own data) the migration Job of that version, gated by a backup of the stable's
data. Sizes and versions come from `canary.serving`, which also covers keep-warm."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.canaries import build_canary_deployment, build_canary_service
from messaging_operator.builders.metadata import VERSION_LABEL
from messaging_operator.schema_jobs import schema_jobs
from messaging_operator.spec import Platform, ServiceSpec
from messaging_operator.status import Observation, job_state
from messaging_operator.walks.canary import Serving, canary_running
from messaging_operator.walks.decisions import Walk


def ready_version(deployment: dict[str, Any] | None) -> str | None:
    """The version a Deployment runs with every replica updated and ready, else None."""
    if deployment is None:
        return None
    meta, spec = deployment["metadata"], deployment.get("spec") or {}
    status = deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    settled = int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
    updated = int(status.get("updatedReplicas", 0)) >= wanted
    ready = int(status.get("readyReplicas", 0)) >= wanted
    return (meta.get("labels") or {}).get(VERSION_LABEL) if settled and updated and ready else None


def canary_objects(
    platform: Platform,
    service: ServiceSpec,
    walk: Walk,
    now_serving: Serving,
    live: dict[tuple[str, str], dict[str, Any]],
    seen: Observation,
    backup_targets: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """The canary's Deployment and Service, and (data-owning services) the migration Job of
    its version, which must complete before the canary pods start on that version."""
    state = walk.state
    if state is None or not state.version or now_serving.canary_version is None:
        return []
    running = canary_running(state)
    version: str | None = now_serving.canary_version
    objects: list[dict[str, Any]] = []
    if service.owns_database:
        needed, job = schema_jobs(
            platform, service, state.version, live, seen, backup_targets, wanted=running
        )
        objects += needed
        if job_state(job)[0] != "Complete":
            current = live.get(("Deployment", f"{platform.name}-{service.name}-canary"))
            version = ((current or {}).get("metadata", {}).get("labels") or {}).get(VERSION_LABEL)
    if version is not None:
        objects.append(
            build_canary_deployment(platform, service, version, now_serving.canary_replicas)
        )
    objects.append(build_canary_service(platform, service))
    return objects
