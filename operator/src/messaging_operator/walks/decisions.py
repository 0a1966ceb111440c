"""One reconcile's canary decisions: read the walks from status, query Prometheus when an
analysis falls due, and let `canary.decide_walk` say what comes next.

Without `spec.analysis.prometheus.url` there is nothing to judge by: each step then passes
when its interval is over (the walk is paced by time alone), and the status says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from messaging_operator.spec import Platform, ServiceSpec
from messaging_operator.walks.analysis import PASSED, AnalysisResult, Target, Thresholds
from messaging_operator.walks.canary import (
    SUCCEEDED,
    Decision,
    WalkState,
    analysis_due,
    analysis_target,
    decide_walk,
    migration_weight,
    stable_version,
    warm_version,
)
from messaging_operator.walks.migration_plan import PlanStatus, decide_plan
from messaging_operator.walks.settings import RolloutControls, WalkSettings

Analyse = Callable[[str, Target, str, Thresholds], Awaitable[AnalysisResult]]

NO_ANALYSIS = AnalysisResult(
    PASSED,
    "AnalysisDisabled",
    "no spec.analysis.prometheus.url: the step passed on its interval alone",
)


@dataclass(frozen=True)
class Walk:
    settings: WalkSettings
    decision: Decision

    @property
    def state(self) -> WalkState | None:
        return self.decision.state


def recorded(status: Mapping[str, Any] | None, service: str, kind: str) -> WalkState | None:
    entry = ((status or {}).get("services") or {}).get(service) or {}
    return WalkState.from_status(entry.get(kind))


async def _decide_one(
    kind: str,
    service: str,
    settings: WalkSettings,
    body: Mapping[str, Any],
    controls: RolloutControls,
    url: str | None,
    now: datetime,
    analyse: Analyse,
    stable: str,
) -> Walk:
    state = recorded(body.get("status"), service, kind)
    analysis = None
    if analysis_due(settings, state, now):
        if url is None:
            analysis = NO_ANALYSIS
        else:
            target = analysis_target(service, settings, stable)
            analysis = await analyse(url, target, settings.interval, settings.thresholds)
    return Walk(settings, decide_walk(settings, state, controls, analysis, now, stable))


async def decide_canaries(
    platform: Platform, body: Mapping[str, Any], now: datetime, analyse: Analyse
) -> dict[str, Walk]:
    """Service -> its canary walk, for every enabled service with a canary declared or recorded."""
    controls, url = platform.spec.rollout, platform.spec.prometheus_url
    walks: dict[str, Walk] = {}
    for service in platform.spec.enabled_services:
        settings = service.canary
        state = recorded(body.get("status"), service.name, "canary")
        if not settings.declared and state is None:
            continue
        stable = stable_version(service.version, state)
        walks[service.name] = await _decide_one(
            "canary", service.name, settings, body, controls, url, now, analyse, stable
        )
    return walks


@dataclass(frozen=True)
class Migrations:
    """This pass's migration walks (legacy -> new) and, under a plan, whose turn it is."""

    walks: dict[str, Walk]
    plan: PlanStatus | None = None
    # Plan services not yet started: their path stays on legacy.
    waiting: tuple[str, ...] = ()


async def decide_migrations(
    platform: Platform, body: Mapping[str, Any], now: datetime, analyse: Analyse
) -> Migrations:
    """Migration walks: a service with `migration.steps` walks on its own; under
    `spec.migrationPlan` the plan's services walk one after another, each gated by its own
    analysis. Nothing walks without a legacy backend (there is nothing to migrate from)."""
    gateway = platform.spec.gateway
    if gateway is None or gateway.legacy is None:
        return Migrations({})
    controls, url = platform.spec.rollout, platform.spec.prometheus_url
    enabled = {s.name: s for s in platform.spec.enabled_services}
    plan = platform.spec.migration_plan
    order = plan.order if plan is not None else ()

    def settings_of(name: str) -> WalkSettings:
        return enabled[name].migration

    async def one(name: str) -> Walk:
        return await _decide_one(
            "migration",
            name,
            settings_of(name),
            body,
            controls,
            url,
            now,
            analyse,
            enabled[name].version,
        )

    walks: dict[str, Walk] = {}
    for name in enabled:
        if name not in order and settings_of(name).steps:
            walks[name] = await one(name)
    if not order:
        return Migrations(walks)
    # Services that finished keep their walk (a service's own abort can still undo it).
    states = {name: recorded(body.get("status"), name, "migration") for name in order}
    for name, state in states.items():
        if state is not None and state.phase == SUCCEEDED:
            walks[name] = await one(name)
            states[name] = walks[name].state
    progress = decide_plan(order, states)
    # When the current service finishes in this pass the next one starts at once.
    while progress.current is not None and progress.current not in walks:
        walk = await one(progress.current)
        walks[progress.current] = walk
        states[progress.current] = walk.state
        progress = decide_plan(order, states)
    # Later services wait on legacy, whatever an older record of theirs says.
    return Migrations(walks, progress, tuple(n for n in progress.pending if n not in walks))


def with_migration_weights(platform: Platform, migrations: Migrations) -> Platform:
    """The platform with each service's `migration_weight` as its walk (or the plan) says."""
    changed = {}
    for name, service in platform.spec.services.items():
        if name in migrations.waiting:
            weight = 0
        elif name in migrations.walks:
            weight = migration_weight(migrations.walks[name].state, service.migration_weight)
        else:
            continue
        if weight != service.migration_weight:
            changed[name] = replace(service, migration_weight=weight)
    return with_services(platform, changed)


def with_services(platform: Platform, changed: Mapping[str, ServiceSpec]) -> Platform:
    if not changed:
        return platform
    services = {**platform.spec.services, **changed}
    return replace(platform, spec=replace(platform.spec, services=services))


def with_stable_versions(
    platform: Platform, walks: Mapping[str, Walk], now: datetime | None = None
) -> Platform:
    """The platform as the stable Deployments should run it: a promoted canary's version
    replaces the spec's until the spec catches up, once its keep-warm window is over."""
    changed = {}
    for name, walk in walks.items():
        service = platform.spec.services.get(name)
        if service is None:
            continue
        stable = stable_version(service.version, walk.state)
        warm = None if now is None else warm_version(walk.settings, walk.state, now)
        if warm is not None:
            stable = warm  # the previous stable stays untouched while it is kept warm
        if stable != service.version:
            changed[name] = replace(service, version=stable)
    return with_services(platform, changed)


def next_look(walks: Mapping[str, Walk]) -> float | None:
    """Seconds until the earliest walk needs a look again; None when none does."""
    delays = [
        w.decision.requeue_after for w in walks.values() if w.decision.requeue_after is not None
    ]
    return min(delays) if delays else None
