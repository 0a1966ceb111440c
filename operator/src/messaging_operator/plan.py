"""The plan step of a reconcile: from the spec, the walks' decisions, the live children and
what observe.py found, the children wanted now and the gates that held some back.

Pure (no API calls): the same inputs give the same plan, which is what the tests and the
benchmark's expected end state rely on. Reading is observe.py's, applying reconcile.py's.
"""

from __future__ import annotations

import secrets as random_secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging_operator import backups
from messaging_operator.builders.autoscalers import build_autoscaler
from messaging_operator.builders.backups import build_backup_cronjob
from messaging_operator.builders.budgets import build_pod_disruption_budget
from messaging_operator.builders.configmaps import build_configmap
from messaging_operator.builders.deployments import build_deployment
from messaging_operator.builders.infrastructure import (
    build_infrastructure,
    build_infrastructure_jobs,
    build_object_storage_route,
)
from messaging_operator.builders.jobs import migration_job_name
from messaging_operator.builders.metadata import VERSION_LABEL, child_name
from messaging_operator.builders.network_policies import build_network_policy
from messaging_operator.builders.routes import (
    build_http_route,
    build_preview_route,
    with_foreign_rules,
)
from messaging_operator.builders.secrets import build_secrets, decode
from messaging_operator.builders.services import build_service
from messaging_operator.builders.web import build_web
from messaging_operator.contracts import contract_jobs
from messaging_operator.schema_jobs import schema_jobs
from messaging_operator.spec import Platform
from messaging_operator.status import Observation, job_state
from messaging_operator.walks.canary import canary_running, serving
from messaging_operator.walks.canary_children import canary_objects, ready_version
from messaging_operator.walks.decisions import Walk

Live = Mapping[tuple[str, str], dict[str, Any]]


@dataclass
class Plan:
    """What one pass wants: the objects, and the gating decisions status reports on."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    # service -> the migration Job of its target version (MigrationsSucceeded reads them)
    migration_jobs: dict[str, str] = field(default_factory=dict)
    # service -> the version its Deployment runs (or is about to); None: not deployable yet
    deploy_versions: dict[str, str | None] = field(default_factory=dict)
    # service -> versions whose migration waits on a backup of the running version's data
    backup_targets: dict[str, list[str]] = field(default_factory=dict)
    # service -> the step its declared restore is at
    restores: dict[str, backups.RestoreStep] = field(default_factory=dict)


def generate_value(kind: str) -> str:
    if kind == "jwt-private-key":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    if kind == "key-id":
        return random_secrets.token_hex(8)
    return random_secrets.token_urlsafe(24)


def plan_children(
    platform: Platform,
    live: dict[tuple[str, str], dict[str, Any]],
    seen: Observation,
    external_postgres: dict[str, str] | None,
    walks: Mapping[str, Walk] | None = None,
    now: datetime | None = None,
) -> Plan:
    """Every child wanted now, and the gates each service's objects passed or wait at."""
    plan = Plan()
    existing = {
        name: decode(obj.get("data")) for (kind, name), obj in live.items() if kind == "Secret"
    }
    desired = plan.objects
    desired += build_secrets(platform, existing, generate_value, external_postgres)
    desired += build_infrastructure(platform)
    if not seen.missing:
        desired += build_infrastructure_jobs(platform)
    for service in platform.spec.enabled_services:
        desired.append(build_configmap(platform, service))
        desired.append(build_service(platform, service))
        version: str | None = service.version
        if service.owns_database:
            plan.migration_jobs[service.name] = migration_job_name(
                platform, service, service.version
            )
            needed, job = schema_jobs(
                platform, service, service.version, live, seen, plan.backup_targets
            )
            desired += needed
            if job_state(job)[0] != "Complete":
                # The new version waits for its schema; the running one (if any) stays.
                running = live.get(("Deployment", f"{platform.name}-{service.name}"))
                labels = (running or {}).get("metadata", {}).get("labels") or {}
                version = labels.get(VERSION_LABEL)
        plan.deploy_versions[service.name] = version
        restore = backups.plan_restore(platform, service, version, live, seen.migration_gate_open)
        if restore is not None:
            plan.restores[service.name] = restore
            desired += restore.jobs
        deployed = backups.restoring(service, restore)  # zero replicas while restoring
        if version is not None:
            desired.append(build_deployment(platform, deployed, version))
            cronjob = build_backup_cronjob(platform, service, version)
            if cronjob is not None:
                desired.append(cronjob)
            desired += contract_jobs(platform, service, live)
        walk = (walks or {}).get(service.name)
        canary_share = None
        canary_match: tuple = ()
        mirror_percent = None
        preview = None
        if walk is not None and walk.state is not None:
            stable_live = live.get(("Deployment", child_name(platform, service.name)))
            now_serving = serving(
                walk.settings,
                walk.state,
                now or datetime.now(UTC),
                service.version,
                service.replicas,
                ready_version(stable_live),
            )
            desired += canary_objects(
                platform, service, walk, now_serving, live, seen, plan.backup_targets
            )
            canary_share = now_serving.canary_share
            # Testers' requests and mirrored copies go to the canary only while it runs (a
            # rolled-back one has no pods; a promoted one serves everyone).
            if canary_running(walk.state):
                canary_match = walk.settings.match
                mirror_percent = walk.settings.mirror_percent
                preview = walk.settings.preview
        route = (
            with_foreign_rules(
                build_http_route(platform, service, canary_share, canary_match, mirror_percent),
                live.get(("HTTPRoute", child_name(platform, service.name))),
            )
            if seen.gateway_api_installed
            else None
        )
        preview_route = (
            build_preview_route(platform, service, preview)
            if preview is not None and seen.gateway_api_installed
            else None
        )
        for optional in (
            preview_route,
            build_pod_disruption_budget(platform, deployed),
            build_autoscaler(platform, deployed),
            build_network_policy(platform, service),
            route,
        ):
            if optional is not None:
                desired.append(optional)
    desired += build_web(platform, with_route=seen.gateway_api_installed)
    storage_route = build_object_storage_route(platform) if seen.gateway_api_installed else None
    if storage_route is not None:
        desired.append(storage_route)
    return plan
