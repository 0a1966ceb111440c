"""One reconcile of one MessagingPlatform: read, build, apply what differs, prune, report.

Level-based: it looks at the whole platform every time, so whatever triggered it (a spec edit,
a child deleted by hand, a Job finishing, the operator restarting) the outcome is the same.
Reads are lists by label; writes happen only where the desired object differs from the live one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging_operator import backups
from messaging_operator.apply import apply_reason, with_applied_hash
from messaging_operator.apply_failures import ApplyFailure, describe_failures, failure_of
from messaging_operator.builders.metadata import (
    child_name,
)
from messaging_operator.builders.routes import (
    effective_weight,
    read_back,
)
from messaging_operator.kinds import CHILD_KINDS, PRUNABLE_KINDS
from messaging_operator.kube import ApiError, KubeClient
from messaging_operator.notifications import Notification, notifications_for
from messaging_operator.observe import observe, owned_by, read_live
from messaging_operator.plan import Plan, plan_children
from messaging_operator.platform_events import post_event
from messaging_operator.spec import Platform, handled_by, parse_platform
from messaging_operator.status import (
    Check,
    Observation,
    build_status,
    evaluate_infrastructure,
    evaluate_migrations,
    evaluate_routes,
    evaluate_services,
    merge_patch,
    summarize,
    transitions,
)
from messaging_operator.walks import prometheus
from messaging_operator.walks.decisions import (
    Migrations,
    Walk,
    decide_canaries,
    decide_migrations,
    next_look,
    with_migration_weights,
    with_stable_versions,
)
from messaging_operator.walks.progress_report import progress_check

log = logging.getLogger(__name__)

# Concurrent applies per reconcile: a fresh platform is ~55 objects; the API server copes.
APPLY_CONCURRENCY = 8


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
    # The walk Events for spec.rollout.notifications' webhooks: the caller hands them to the
    # Notifier, which sends them apart from any reconcile.
    notifications: list[Notification] = field(default_factory=list)


def prefixed(walks: dict[str, Walk]) -> dict[str, Walk]:
    return {f"migration/{name}": walk for name, walk in walks.items()}


async def apply_all(
    client: KubeClient,
    pending: list[tuple[dict[str, Any], str]],
    live: dict[tuple[str, str], dict[str, Any]],
    outcome: Outcome,
) -> None:
    """Apply, concurrently, every desired object that differs from its live self (with why)."""
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

    await asyncio.gather(*(one(obj, reason) for obj, reason in pending))


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
    seen, external_postgres = await observe(client, platform, live)

    plan = plan_children(platform, live, seen, external_postgres, walks, now)
    desired = plan.objects
    # Decided once per pass: comparing every child with its live self is most of the CPU a
    # pass costs (tests/bench measures it at scale).
    pending = [
        (obj, reason) for obj in desired if (reason := apply_reason(obj, live.get(key_of(obj))))
    ]
    if pending:
        # Report what is already known (a missing Secret or Gateway) before the slow part.
        await report(client, body, platform, live, seen, plan, outcome, walks, migrations)
    await apply_all(client, pending, live, outcome)
    await prune(client, platform, desired, live, outcome)
    await report(client, body, platform, live, seen, plan, outcome, walks, migrations)
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
    plan: Plan,
    outcome: Outcome,
    walks: dict[str, Walk] | None = None,
    migrations: Migrations | None = None,
) -> None:
    """Write the status if it changed (never otherwise), with an Event per failure that began."""
    migrations = migrations or Migrations({})
    checks: dict[str, Check] = {
        "InfrastructureReady": evaluate_infrastructure(platform, live, seen),
        "MigrationsSucceeded": evaluate_migrations(platform, live, seen, plan.migration_jobs),
        "RoutesReady": evaluate_routes(platform, live, seen),
    }
    services_check, per_service = evaluate_services(platform, live, seen)
    checks["ServicesReady"] = services_check
    checks["BackupsSucceeded"] = backups.evaluate_backups(platform, live, plan.backup_targets)
    checks["RestoreSucceeded"] = backups.evaluate_restores(plan.restores)
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
    backups.annotate_services(platform, per_service, live, plan.restores, old_status)
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
        # Each message names its service first (`relay: canary 1.1.0 at 10%`): `kubectl mp
        # history NAME SERVICE` picks a service's walk out of the platform's Events by it.
        for service, walk in [*(walks or {}).items(), *migrations.walks.items()]:
            for event in walk.decision.events:
                message = f"{service}: {event.message}"
                await post_event(client, body, event.type, event.reason, message)
                outcome.notifications += notifications_for(
                    body, service, event.type, event.reason, message, utc_now()
                )
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
