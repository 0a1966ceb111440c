"""One reconcile of one MessagingPlatform: read, build, apply what differs, prune, report.

Level-based: it looks at the whole platform every time, so whatever triggered it (a spec edit,
a child deleted by hand, a Job finishing, the operator restarting) the outcome is the same.
Reads are lists by label; writes happen only where the desired object differs from the live one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets as random_secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging_operator import backups, prometheus
from messaging_operator.apply import apply_reason, with_applied_hash
from messaging_operator.apply_failures import ApplyFailure, describe_failures, failure_of
from messaging_operator.builders.autoscalers import build_autoscaler
from messaging_operator.builders.backups import build_backup_cronjob
from messaging_operator.builders.budgets import build_pod_disruption_budget
from messaging_operator.builders.configmaps import build_configmap
from messaging_operator.builders.deployments import build_deployment
from messaging_operator.builders.endpoints import DEFAULT_LOCAL_ADDRESS, build_local_service
from messaging_operator.builders.infrastructure import (
    build_database_provision_job,
    build_infrastructure,
    build_infrastructure_jobs,
)
from messaging_operator.builders.jobs import migration_job_name
from messaging_operator.builders.metadata import (
    VERSION_LABEL,
    child_name,
)
from messaging_operator.builders.routes import (
    build_http_route,
    effective_weight,
    read_back,
    with_foreign_rules,
)
from messaging_operator.builders.secrets import build_secrets, decode
from messaging_operator.builders.services import build_service
from messaging_operator.builders.web import build_web
from messaging_operator.canary import serving
from messaging_operator.canary_children import canary_objects, ready_version
from messaging_operator.contracts import contract_jobs
from messaging_operator.kinds import CHILD_KINDS, PRUNABLE_KINDS
from messaging_operator.kube import ApiError, KubeClient
from messaging_operator.observe import owned_by, read_external, read_live, read_routing
from messaging_operator.platform_events import post_event
from messaging_operator.progress_report import progress_check
from messaging_operator.schema_jobs import schema_jobs
from messaging_operator.spec import Platform, handled_by, parse_platform
from messaging_operator.status import (
    Check,
    Observation,
    build_status,
    evaluate_infrastructure,
    evaluate_migrations,
    evaluate_routes,
    evaluate_services,
    job_state,
    merge_patch,
    summarize,
    transitions,
)
from messaging_operator.walks import (
    Migrations,
    Walk,
    decide_canaries,
    decide_migrations,
    next_look,
    with_migration_weights,
    with_stable_versions,
)

log = logging.getLogger(__name__)

# Concurrent applies per reconcile: a fresh platform is ~55 objects; the API server copes.
APPLY_CONCURRENCY = 8


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


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    failures: list[ApplyFailure] = field(default_factory=list)
    status_written: bool = False
    walk_events_posted: bool = False
    phase: str = ""
    # Seconds until a canary's analysis falls due: the caller queues another pass then.
    requeue_after: float | None = None


def prefixed(walks: dict[str, Walk]) -> dict[str, Walk]:
    return {f"migration/{name}": walk for name, walk in walks.items()}


def desired_objects(
    platform: Platform,
    live: dict[tuple[str, str], dict[str, Any]],
    seen: Observation,
    external_postgres: dict[str, str] | None,
    walks: dict[str, Walk] | None = None,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every child we want now, and service -> the migration Job name of its target version."""
    existing = {
        name: decode(obj.get("data")) for (kind, name), obj in live.items() if kind == "Secret"
    }
    desired = build_secrets(platform, existing, generate_value, external_postgres)
    desired += build_infrastructure(platform)
    if not seen.missing:
        desired += build_infrastructure_jobs(platform)
    provision = build_database_provision_job(platform)
    if provision is not None:
        state, _ = job_state(live.get(("Job", provision["metadata"]["name"])))
        seen.migration_gate_open = state == "Complete"
    jobs: dict[str, str] = {}
    for service in platform.spec.enabled_services:
        desired.append(build_configmap(platform, service))
        desired.append(
            build_local_service(
                platform, service, platform.spec.endpoints.address or DEFAULT_LOCAL_ADDRESS
            )
            if platform.spec.endpoints.local
            else build_service(platform, service)
        )
        version: str | None = service.version
        if service.owns_database:
            jobs[service.name] = migration_job_name(platform, service, service.version)
            needed, job = schema_jobs(platform, service, service.version, live, seen)
            desired += needed
            if job_state(job)[0] != "Complete":
                # The new version waits for its schema; the running one (if any) stays.
                running = live.get(("Deployment", f"{platform.name}-{service.name}"))
                labels = (running or {}).get("metadata", {}).get("labels") or {}
                version = labels.get(VERSION_LABEL)
        seen.deploy_versions[service.name] = version
        restore = backups.plan_restore(platform, service, version, live, seen.migration_gate_open)
        if restore is not None:
            seen.restores[service.name] = restore
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
        if walk is not None and walk.state is not None and not platform.spec.endpoints.local:
            stable_live = live.get(("Deployment", child_name(platform, service.name)))
            now_serving = serving(
                walk.settings,
                walk.state,
                now or datetime.now(UTC),
                service.version,
                service.replicas,
                ready_version(stable_live),
            )
            desired += canary_objects(platform, service, walk, now_serving, live, seen)
            canary_share = now_serving.canary_share
        route = (
            with_foreign_rules(
                build_http_route(platform, service, canary_share),
                live.get(("HTTPRoute", child_name(platform, service.name))),
            )
            if seen.gateway_api_installed
            else None
        )
        for optional in (
            build_pod_disruption_budget(platform, deployed),
            build_autoscaler(platform, deployed),
            route,
        ):
            if optional is not None:
                desired.append(optional)
    desired += build_web(platform, with_route=seen.gateway_api_installed)
    return desired, jobs


async def apply_all(
    client: KubeClient,
    desired: list[dict[str, Any]],
    live: dict[tuple[str, str], dict[str, Any]],
    outcome: Outcome,
) -> None:
    """Apply, concurrently, every desired object that differs from its live self."""
    pending = [(obj, apply_reason(obj, live.get(key_of(obj)))) for obj in desired]
    limit = asyncio.Semaphore(APPLY_CONCURRENCY)

    async def one(obj: dict[str, Any], reason: str) -> None:
        key = key_of(obj)
        async with limit:
            try:
                live[key] = await client.apply(with_applied_hash(obj))
            except ApiError as error:
                outcome.failures.append(failure_of(obj, error))
                return
        outcome.applied.append(f"{key[0]}/{key[1]} ({reason})")

    await asyncio.gather(*(one(obj, reason) for obj, reason in pending if reason))


def key_of(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


async def prune(
    client: KubeClient,
    platform: Platform,
    desired: list[dict[str, Any]],
    live: dict[tuple[str, str], dict[str, Any]],
    outcome: Outcome,
) -> None:
    wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in desired}
    for key, obj in list(live.items()):
        if key[0] in PRUNABLE_KINDS and key not in wanted and owned_by(obj, platform):
            await client.delete(key[0], platform.namespace, key[1])
            live.pop(key)
            outcome.pruned.append(f"{key[0]}/{key[1]}")


async def reconcile(client: KubeClient, namespace: str, name: str, instance: str = "") -> Outcome:
    outcome = Outcome()
    body = await client.get("MessagingPlatform", namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return outcome  # children go with it through their ownerReferences
    if not handled_by(body, instance):
        return outcome  # another operator instance's platform
    platform = parse_platform(body)
    now = datetime.now(UTC)
    walks = await decide_canaries(platform, body, now, prometheus.analyse)
    migrations = await decide_migrations(platform, body, now, prometheus.analyse)
    platform = with_migration_weights(with_stable_versions(platform, walks, now), migrations)
    live = await read_live(client, platform, CHILD_KINDS)
    seen = Observation()
    external_postgres = await read_external(client, platform, seen)
    await read_routing(client, platform, seen)

    desired, jobs = desired_objects(platform, live, seen, external_postgres, walks, now)
    if any(apply_reason(obj, live.get(key_of(obj))) for obj in desired):
        # Report what is already known (a missing Secret or Gateway) before the slow part.
        await report(client, body, platform, live, seen, jobs, outcome, walks, migrations)
    await apply_all(client, desired, live, outcome)
    await prune(client, platform, desired, live, outcome)
    await report(client, body, platform, live, seen, jobs, outcome, walks, migrations)
    outcome.requeue_after = next_look({**walks, **prefixed(migrations.walks)})
    if outcome.applied or outcome.pruned:
        summary = ", ".join(outcome.applied + [f"deleted {p}" for p in outcome.pruned])
        await post_event(client, body, "Normal", "Applied", summary)
    if outcome.failures:
        raise ReconcileError(describe_failures(outcome.failures).message)
    return outcome


async def report(
    client: KubeClient,
    body: dict[str, Any],
    platform: Platform,
    live: dict[tuple[str, str], dict[str, Any]],
    seen: Observation,
    jobs: dict[str, str],
    outcome: Outcome,
    walks: dict[str, Walk] | None = None,
    migrations: Migrations | None = None,
) -> None:
    """Write the status if it changed (never otherwise), with an Event per failure that began."""
    migrations = migrations or Migrations({})
    checks: dict[str, Check] = {
        "InfrastructureReady": evaluate_infrastructure(platform, live, seen),
        "MigrationsSucceeded": evaluate_migrations(platform, live, seen, jobs),
        "RoutesReady": evaluate_routes(platform, live, seen),
    }
    services_check, per_service = evaluate_services(platform, live, seen)
    checks["ServicesReady"] = services_check
    checks["BackupsSucceeded"] = backups.evaluate_backups(platform, live, seen.backup_targets)
    checks["RestoreSucceeded"] = backups.evaluate_restores(seen.restores)
    ready = summarize(checks)
    if outcome.failures:
        ready = describe_failures(outcome.failures)
    checks["Ready"] = ready
    canaries = {name: walk.state for name, walk in (walks or {}).items()}
    moves = {name: walk.state for name, walk in migrations.walks.items()}
    # After Ready: a walk rolled back (or frozen) does not make the platform unready.
    checks["CanaryProgressing"] = progress_check(canaries, moves, migrations.plan)
    for kind, states in (("canary", canaries), ("migration", moves)):
        for name, state in states.items():
            if name in per_service and state is not None:
                per_service[name][kind] = state.to_status()
    weights = {}
    for service in platform.spec.enabled_services:
        # What the route really says (read back after our apply), not what we meant to write.
        served = read_back(live.get(("HTTPRoute", child_name(platform, service.name))))
        weights[service.name] = (
            effective_weight(platform, service) if served is None else served.new
        )
        if served is not None and service.name in per_service:
            per_service[service.name]["routeWeights"] = served.to_status()
    old_status = body.get("status") or {}
    backups.annotate_services(platform, per_service, live, seen.restores, old_status)
    new_status = build_status(platform, checks, per_service, weights, old_status, utc_now())
    if migrations.plan is not None:
        new_status["migrationPlan"] = migrations.plan.to_status()
    outcome.phase = new_status["phase"]
    patch = merge_patch(old_status, new_status)
    if not patch:
        return
    await client.patch_status("MessagingPlatform", platform.namespace, platform.name, patch)
    body["status"] = new_status  # the next report compares against what we just wrote
    outcome.status_written = True
    if not outcome.walk_events_posted:
        # Right after the status that records the steps: a restart in between loses nothing
        # but these Events (the decision is not taken again from the new status).
        outcome.walk_events_posted = True
        for walk in [*(walks or {}).values(), *migrations.walks.values()]:
            for event in walk.decision.events:
                await post_event(client, body, event.type, event.reason, event.message)
    restore_steps = backups.restore_events(old_status.get("services") or {}, new_status["services"])
    for event_type, reason, message in restore_steps:
        await post_event(client, body, event_type, reason, message)
    for condition in transitions(old_status.get("conditions"), new_status["conditions"]):
        check = checks[condition["type"]]
        if check.failed:
            await post_event(client, body, "Warning", check.reason, check.message)
        elif condition["type"] == "Ready" and check.ok:
            await post_event(client, body, "Normal", "Ready", check.message)


class ReconcileError(Exception):
    """Some objects could not be applied; the reconcile is retried with backoff."""
