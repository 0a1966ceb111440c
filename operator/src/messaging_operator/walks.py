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

from messaging_operator.analysis import PASSED, AnalysisResult, Target, Thresholds
from messaging_operator.canary import (
    Decision,
    WalkState,
    analysis_due,
    analysis_target,
    decide_walk,
    stable_version,
)
from messaging_operator.canary_settings import RolloutControls, WalkSettings, canary_settings
from messaging_operator.spec import Platform

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


def prometheus_url(raw_spec: Mapping[str, Any]) -> str | None:
    url = ((raw_spec.get("analysis") or {}).get("prometheus") or {}).get("url")
    return str(url) if url else None


async def decide_canaries(
    platform: Platform, body: Mapping[str, Any], now: datetime, analyse: Analyse
) -> dict[str, Walk]:
    """Service -> its canary walk, for every enabled service with a canary declared or recorded."""
    raw_spec = body.get("spec") or {}
    controls = RolloutControls.from_spec(raw_spec.get("rollout"))
    url = prometheus_url(raw_spec)
    raw_services = raw_spec.get("services") or {}
    walks: dict[str, Walk] = {}
    for service in platform.spec.enabled_services:
        raw = (raw_services.get(service.name) or {}).get("canary")
        settings = canary_settings(raw, service.version)
        state = recorded(body.get("status"), service.name, "canary")
        if not settings.declared and state is None:
            continue
        stable = stable_version(service.version, state)
        analysis = None
        if analysis_due(settings, state, now):
            if url is None:
                analysis = NO_ANALYSIS
            else:
                target = analysis_target(service.name, settings, stable)
                analysis = await analyse(url, target, settings.interval, settings.thresholds)
        decision = decide_walk(settings, state, controls, analysis, now, stable)
        walks[service.name] = Walk(settings, decision)
    return walks


def with_stable_versions(platform: Platform, walks: Mapping[str, Walk]) -> Platform:
    """The platform as the stable Deployments should run it: a promoted canary's version
    replaces the spec's until the spec catches up."""
    services = dict(platform.spec.services)
    changed = False
    for name, walk in walks.items():
        service = services.get(name)
        if service is None:
            continue
        stable = stable_version(service.version, walk.state)
        if stable != service.version:
            services[name] = replace(service, version=stable)
            changed = True
    if not changed:
        return platform
    return replace(platform, spec=replace(platform.spec, services=services))


def next_look(walks: Mapping[str, Walk]) -> float | None:
    """Seconds until the earliest walk needs a look again; None when none does."""
    delays = [
        w.decision.requeue_after for w in walks.values() if w.decision.requeue_after is not None
    ]
    return min(delays) if delays else None
