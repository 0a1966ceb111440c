"""Pure decisions of a progressive walk: a canary (stable -> canary version) or a migration
(legacy monolith -> new service), one service at a time.

`decide_walk(settings, state, controls, analysis, now)` returns the next state and the Events
that tell the story. The state is a `WalkState` the operator keeps in the platform's status
(`to_status` / `from_status`), never in memory, so a restarted operator carries on where the
last one stopped. Nothing here reads a clock or the network: `now` and the analysis verdict
come in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_operator.walks.analysis import FAILED, PASSED, AnalysisResult, Target
from messaging_operator.walks.settings import (
    CANARY,
    MIGRATION,
    RolloutControls,
    WalkSettings,
)

PROGRESSING = "Progressing"
WAITING = "Waiting"  # too few requests, or no metrics: hold, never count it as a failure
PAUSED = "Paused"
FROZEN = "Frozen"  # failed after its schema migration ran: hold traffic where it is, alert
SUCCEEDED = "Succeeded"
ROLLED_BACK = "RolledBack"
# Phases in which the walk still moves; Frozen holds, Succeeded and RolledBack are done.
ACTIVE = frozenset({PROGRESSING, WAITING, PAUSED})

ABORTED = "Aborted"
AWAITING_APPROVAL = "AwaitingApproval"  # the next step is a gate nobody approved yet
ANALYSIS_FAILED = "AnalysisFailed"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class WalkState:
    """One walk as recorded in status; everything needed to continue after a restart."""

    kind: str
    phase: str
    reason: str
    message: str
    weight: int  # the canary's (or, for a migration, the new service's) share now
    step: int  # index into the steps; 0 for a plain weight
    failures: int  # consecutive failed analyses; a pass resets it, a wait leaves it
    started_at: str
    next_check: str  # when the current window's analysis is due
    version: str = ""
    stable_version: str = ""  # the stable version when the walk began (kept warm after)
    promoted_at: str | None = None
    analysis: AnalysisResult | None = None

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": self.kind,
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message,
            "weight": self.weight,
            "step": self.step,
            "failures": self.failures,
            "startedAt": self.started_at,
            "nextCheck": self.next_check,
        }
        if self.version:
            status["version"] = self.version
        if self.stable_version:
            status["stableVersion"] = self.stable_version
        if self.promoted_at:
            status["promotedAt"] = self.promoted_at
        if self.analysis is not None:
            status["analysis"] = self.analysis.to_status()
        return status

    @classmethod
    def from_status(cls, raw: Mapping[str, Any] | None) -> WalkState | None:
        """The recorded walk, or None when there is none (or it is unreadable: start over)."""
        if not raw or "phase" not in raw:
            return None
        try:
            return cls(
                kind=str(raw.get("kind", CANARY)),
                phase=str(raw["phase"]),
                reason=str(raw.get("reason", "")),
                message=str(raw.get("message", "")),
                weight=int(raw.get("weight", 0)),
                step=int(raw.get("step", 0)),
                failures=int(raw.get("failures", 0)),
                started_at=str(raw["startedAt"]),
                next_check=str(raw["nextCheck"]),
                version=str(raw.get("version", "")),
                stable_version=str(raw.get("stableVersion", "")),
                promoted_at=raw.get("promotedAt"),
                analysis=AnalysisResult.from_status(raw["analysis"])
                if raw.get("analysis")
                else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    state: WalkState | None
    events: tuple[Event, ...] = ()
    # Seconds until the walk next needs a look (its analysis falls due); None: nothing timed.
    requeue_after: float | None = None


def _subject(settings: WalkSettings) -> str:
    if settings.kind == MIGRATION:
        return "migration"
    return f"canary {settings.version}"


def _numbers(state: WalkState) -> str:
    return f" (last analysis: {state.analysis.message})" if state.analysis else ""


def start_walk(settings: WalkSettings, stable_version: str, now: datetime) -> WalkState:
    weight = settings.weight_at(0)
    return WalkState(
        kind=settings.kind,
        phase=PROGRESSING,
        reason="StepStarted",
        message=f"{_subject(settings)} at {weight}%",
        weight=weight,
        step=0,
        failures=0,
        started_at=iso(now),
        next_check=iso(now + timedelta(seconds=settings.interval_seconds)),
        version=settings.version or "",
        stable_version=stable_version,
    )


def _rolled_back(state: WalkState, reason: str, message: str) -> WalkState:
    return replace(state, phase=ROLLED_BACK, reason=reason, message=message, weight=0)


def _promoted(settings: WalkSettings, state: WalkState, why: str, now: datetime) -> WalkState:
    if settings.kind == MIGRATION:
        message = f"migration complete ({why}): all traffic on the new service"
        return replace(state, phase=SUCCEEDED, reason="Promoted", message=message, weight=100)
    message = (
        f"promoted ({why}): {state.version} carries all traffic; {state.stable_version} "
        f"kept warm for {settings.keep_warm}, then stable moves to {state.version}"
    )
    return replace(
        state, phase=SUCCEEDED, reason="Promoted", message=message, weight=0, promoted_at=iso(now)
    )


def decide_walk(
    settings: WalkSettings,
    state: WalkState | None,
    controls: RolloutControls,
    analysis: AnalysisResult | None,
    now: datetime,
    stable_version: str = "",
) -> Decision:
    """The next state of one walk. `analysis` is the verdict of the window that just ended,
    or None when none was taken (see `analysis_due`); `stable_version` is what the stable
    Deployment runs now (`stable_version()`, so a promoted canary counts as stable)."""
    abort = settings.abort or controls.abort
    promote = settings.promote or controls.promote

    if not settings.declared:
        return _undeclared(settings, state, now)

    if state is None or state.kind != settings.kind or state.version != (settings.version or ""):
        restarted = state is not None and state.phase in ACTIVE | {FROZEN}
        fresh = start_walk(settings, stable_version, now)
        if abort:
            fresh = _rolled_back(fresh, ABORTED, f"{_subject(settings)} aborted before it began")
            return Decision(fresh, (Event("Warning", ABORTED, fresh.message),))
        why = f" (replaces {state.version}, whose walk restarts)" if restarted and state else ""
        event = Event(
            "Normal", "WalkRestarted" if restarted else "WalkStarted", fresh.message + why
        )
        return Decision(fresh, (event,), settings.interval_seconds)

    if state.phase == SUCCEEDED:
        # Only the service's own abort undoes a promotion: the platform-wide one stops the
        # walks in flight, not what finished (perhaps days ago).
        return _after_promotion(settings, state, settings.abort, now)
    if state.phase == ROLLED_BACK:
        return _after_rollback(settings, state, abort, stable_version, now)

    if abort:
        message = f"{_subject(settings)} aborted at {state.weight}%{_numbers(state)}"
        return Decision(
            _rolled_back(state, ABORTED, message), (Event("Warning", ABORTED, message),)
        )
    if promote:
        done = _promoted(settings, state, "promoted by hand", now)
        return Decision(done, (Event("Normal", "Promoted", done.message),))
    if state.phase == FROZEN:
        return Decision(state)
    if controls.paused:
        if state.phase == PAUSED:
            return Decision(state)
        paused = replace(
            state, phase=PAUSED, reason="RolloutPaused", message=f"paused at {state.weight}%"
        )
        return Decision(paused, (Event("Normal", "RolloutPaused", paused.message),))
    if state.phase == PAUSED:
        # A whole new window after a pause: the traffic seen while paused proves nothing.
        resumed = replace(
            state,
            phase=PROGRESSING,
            reason="RolloutResumed",
            message=f"resumed at {state.weight}%",
            next_check=iso(now + timedelta(seconds=settings.interval_seconds)),
        )
        return Decision(
            resumed,
            (Event("Normal", "RolloutResumed", resumed.message),),
            settings.interval_seconds,
        )

    if state.reason == AWAITING_APPROVAL:
        gate = settings.weight_at(state.step + 1)
        if settings.approved >= gate:  # approved: move now, not a window later
            return _advance(settings, state, now, f"{gate}% approved")
    # A plain weight follows the spec at once; a changed list of steps keeps our place in it.
    wanted = settings.weight_at(state.step)
    if wanted != state.weight:
        state = replace(state, weight=wanted, message=f"{_subject(settings)} at {wanted}%")
    due_in = (parse_time(state.next_check) - now).total_seconds()
    if due_in > 0 or analysis is None:
        return Decision(state, (), max(due_in, 0.0))
    return _judged(settings, state, analysis, now)


def _undeclared(settings: WalkSettings, state: WalkState | None, now: datetime) -> Decision:
    """No canary in the spec: nothing walks; a promotion's record stays while kept warm."""
    if state is None:
        return Decision(None)
    if state.phase == SUCCEEDED and state.promoted_at is not None:
        warm_until = parse_time(state.promoted_at) + timedelta(seconds=settings.keep_warm_seconds)
        if now < warm_until:
            return Decision(state, (), (warm_until - now).total_seconds())
    if state.phase in ACTIVE | {FROZEN}:
        message = f"canary {state.version} removed from the spec: all traffic on stable"
        return Decision(None, (Event("Normal", "CanaryRemoved", message),))
    return Decision(None)


def _after_rollback(
    settings: WalkSettings, state: WalkState, abort: bool, stable_version: str, now: datetime
) -> Decision:
    """A failed walk stays rolled back until someone asks again: a new version (for a
    migration, of the new service), or setting `abort` and clearing it (a retry)."""
    if abort:
        if state.reason == ABORTED:
            return Decision(state)
        # Keep the failing numbers; the Aborted reason is what makes clearing it a retry.
        told = replace(state, reason=ABORTED, message=state.message + "; clear abort to retry")
        return Decision(told)
    fixed = settings.kind == MIGRATION and stable_version not in ("", state.stable_version)
    if state.reason == ABORTED or fixed:
        fresh = start_walk(settings, stable_version or state.stable_version, now)
        return Decision(
            fresh, (Event("Normal", "WalkRestarted", fresh.message),), settings.interval_seconds
        )
    return Decision(state)


def _after_promotion(
    settings: WalkSettings, state: WalkState, abort: bool, now: datetime
) -> Decision:
    if not abort:
        return Decision(state)
    if settings.kind == MIGRATION:
        # The monolith never went away: sending the path back to it is always instant.
        message = "migration aborted after it completed: all traffic back on legacy"
        back = _rolled_back(state, ABORTED, message)
        return Decision(back, (Event("Warning", ABORTED, message),))
    # Undo a promotion: stable goes back to the version it ran before. Inside the keep-warm
    # window its pods still run, so the switch is only a route change.
    warm = warm_version(settings, state, now) is not None
    message = f"promotion of {state.version} undone: stable back on {state.stable_version}" + (
        " (still warm)" if warm else " (keep-warm window over: it must start again)"
    )
    return Decision(_rolled_back(state, ABORTED, message), (Event("Warning", ABORTED, message),))


def _judged(
    settings: WalkSettings, state: WalkState, analysis: AnalysisResult, now: datetime
) -> Decision:
    interval = settings.interval_seconds
    next_window = iso(now + timedelta(seconds=interval))
    state = replace(state, analysis=analysis, next_check=next_window)
    if analysis.verdict == PASSED:
        last_step = not settings.steps or state.step >= len(settings.steps) - 1
        if last_step and settings.steps:
            done = _promoted(settings, state, f"last step passed: {analysis.message}", now)
            return Decision(replace(done, failures=0), (Event("Normal", "Promoted", done.message),))
        if last_step:
            held = replace(
                state,
                phase=PROGRESSING,
                reason="Holding",
                failures=0,
                message=f"holding at {state.weight}% (a plain weight); {analysis.message}",
            )
            return Decision(held, (), interval)
        gate = settings.weight_at(state.step + 1)
        if gate in settings.gates and settings.approved < gate:
            message = (
                f"{_subject(settings)} at {state.weight}% passed ({analysis.message}); "
                f"waiting for approval to go to {gate}%: set approved: {gate} "
                f"(kubectl mp approve)"
            )
            waiting = replace(
                state, phase=PROGRESSING, reason=AWAITING_APPROVAL, failures=0, message=message
            )
            # One Event when the wait begins; the analysis goes on every window meanwhile.
            told = (
                ()
                if state.reason == AWAITING_APPROVAL
                else (Event("Normal", AWAITING_APPROVAL, message),)
            )
            return Decision(waiting, told, interval)
        return _advance(settings, state, now, analysis.message)
    if analysis.verdict == FAILED:
        failures = state.failures + 1
        limit = settings.thresholds.failure_limit
        if failures < limit:
            message = f"analysis failed {failures}/{limit} at {state.weight}%: {analysis.message}"
            failing = replace(
                state,
                phase=PROGRESSING,
                reason="AnalysisFailing",
                failures=failures,
                message=message,
            )
            return Decision(failing, (Event("Warning", "AnalysisFailing", message),), interval)
        if settings.on_failure == "freeze":
            message = (
                f"analysis failed {failures}/{limit}: traffic frozen at {state.weight}% "
                f"(onFailure: freeze); {analysis.message}; promote or abort by hand"
            )
            frozen = replace(
                state, phase=FROZEN, reason=ANALYSIS_FAILED, failures=failures, message=message
            )
            return Decision(frozen, (Event("Warning", "Frozen", message),))
        target = "legacy" if settings.kind == MIGRATION else "stable"
        message = (
            f"analysis failed {failures}/{limit} at {state.weight}%: {analysis.message}; "
            f"all traffic back on {target}"
        )
        back = _rolled_back(replace(state, failures=failures), ANALYSIS_FAILED, message)
        return Decision(back, (Event("Warning", "RolledBack", message),))
    # WAIT: not enough traffic (or no metrics) is never a failure; the count stands.
    waiting = replace(state, phase=WAITING, reason=analysis.reason, message=analysis.message)
    # One Event when the wait begins, not one per window.
    told = () if state.phase == WAITING else (Event("Normal", analysis.reason, analysis.message),)
    return Decision(waiting, told, interval)


def _advance(settings: WalkSettings, state: WalkState, now: datetime, why: str) -> Decision:
    """The next step, with a whole window of its own."""
    interval = settings.interval_seconds
    step = state.step + 1
    weight = settings.weight_at(step)
    moved = replace(
        state,
        phase=PROGRESSING,
        reason="StepAdvanced",
        step=step,
        weight=weight,
        failures=0,
        message=f"{_subject(settings)} at {weight}% ({why})",
        next_check=iso(now + timedelta(seconds=interval)),
    )
    return Decision(moved, (Event("Normal", "StepAdvanced", moved.message),), interval)


def analysis_target(service: str, settings: WalkSettings, stable: str) -> Target:
    """What to query: the canary against the stable version, or (a migration) the new
    service alone, since the legacy monolith does not export our metrics."""
    if settings.kind == MIGRATION or settings.version is None:
        return Target(service=service, version=stable)
    return Target(service=service, version=settings.version, baseline_version=stable)


def analysis_due(settings: WalkSettings, state: WalkState | None, now: datetime) -> bool:
    """Whether the caller should query Prometheus before calling `decide_walk`."""
    if not settings.declared or state is None or state.phase not in {PROGRESSING, WAITING}:
        return False
    if state.kind != settings.kind or state.version != (settings.version or ""):
        return False
    return now >= parse_time(state.next_check)


def warm_version(settings: WalkSettings, state: WalkState | None, now: datetime) -> str | None:
    """The previous stable version to keep running after a promotion, while its window lasts."""
    if state is None or state.phase != SUCCEEDED or state.promoted_at is None:
        return None
    until = parse_time(state.promoted_at) + timedelta(seconds=settings.keep_warm_seconds)
    return state.stable_version if now < until and state.stable_version else None


@dataclass(frozen=True)
class Serving:
    """Who serves a service's new-side traffic now: the stable Deployment's version, and the
    canary Deployment's version, size and share (its part of what reaches the new service)."""

    stable_version: str
    canary_version: str | None = None  # None: no canary objects at all
    canary_replicas: int = 0
    canary_share: int | None = None  # None: the route has no canary backend


def serving(
    settings: WalkSettings,
    state: WalkState | None,
    now: datetime,
    spec_version: str,
    replicas: int,
    stable_ready_at: str | None,
) -> Serving:
    """Keep-warm as a route switch: after a promotion the canary Deployment, grown to the
    service's size, carries all of the traffic while the old stable keeps running untouched,
    so undoing the promotion inside `keepWarm` only moves the route back. When the window
    ends the stable Deployment takes the new version, and the canary hands the traffic back
    once the stable pods are ready at it (`stable_ready_at`: the version the stable
    Deployment runs with all its replicas ready, None when it is not ready)."""
    if state is None or state.kind != CANARY or not state.version:
        return Serving(spec_version)
    if state.phase in ACTIVE | {FROZEN}:
        # A blue-green canary runs at full size beside stable, ready to take everything.
        size = max(replicas, 1) if settings.preview is not None else 1
        return Serving(spec_version, state.version, size, state.weight)
    if state.phase == SUCCEEDED:
        if warm_version(settings, state, now) is not None:
            return Serving(state.stable_version, state.version, max(replicas, 1), 100)
        if stable_ready_at != state.version:
            return Serving(state.version, state.version, max(replicas, 1), 100)
        return Serving(state.version, state.version, 0, 0)
    # Rolled back: stable as the spec says, the canary at rest with no share.
    return Serving(spec_version, state.version, 0, 0)


def stable_version(spec_version: str, state: WalkState | None) -> str:
    """What the stable Deployment runs: the promoted canary's version once it has won."""
    if state is not None and state.kind == CANARY and state.phase == SUCCEEDED and state.version:
        return state.version
    return spec_version


def canary_weight(state: WalkState | None) -> int:
    """The canary's share of the new service's traffic: only while it walks or is frozen."""
    if state is None or state.kind != CANARY or state.phase not in ACTIVE | {FROZEN}:
        return 0
    return state.weight


def canary_running(state: WalkState | None) -> bool:
    """Whether the canary Deployment should have replicas (else it is scaled to zero)."""
    return state is not None and state.kind == CANARY and state.phase in ACTIVE | {FROZEN}


def migration_weight(state: WalkState | None, declared_weight: int) -> int:
    """The new service's share of its path: the walk's, or the spec's when nothing walks."""
    if state is None or state.kind != MIGRATION:
        return declared_weight
    if state.phase == SUCCEEDED:
        return 100
    return state.weight
