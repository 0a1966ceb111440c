"""How the walks read in status: the `CanaryProgressing` condition and the printer numbers.

Shaped like a Deployment's `Progressing` condition: True while walks move or when nothing
needs to, False when one failed, with its numbers in the message. A rollback leaves the
platform serving on stable, so it is not a fault (`failed`); a frozen walk needs a person.
"""

from __future__ import annotations

from collections.abc import Mapping

from messaging_operator.status import Check
from messaging_operator.walks.canary import (
    ACTIVE,
    AWAITING_APPROVAL,
    FROZEN,
    PAUSED,
    ROLLED_BACK,
    SUCCEEDED,
    WAITING,
    WalkState,
)
from messaging_operator.walks.migration_plan import PLAN_STOPPED, PlanStatus

CONDITION_TYPE = "CanaryProgressing"


def in_flight(canaries: Mapping[str, WalkState | None]) -> int:
    """Canaries still holding traffic (walking, paused, waiting or frozen)."""
    return sum(1 for s in canaries.values() if s is not None and s.phase in ACTIVE | {FROZEN})


def _label(service: str, walk: WalkState) -> str:
    what = f"canary {walk.version}" if walk.version else "migration"
    return f"{service} {what}"


def progress_check(
    canaries: Mapping[str, WalkState | None],
    migrations: Mapping[str, WalkState | None],
    plan: PlanStatus | None = None,
) -> Check:
    walks = [
        (service, walk)
        for group in (canaries, migrations)
        for service, walk in sorted(group.items())
        if walk is not None
    ]
    frozen = [f"{_label(n, w)}: {w.message}" for n, w in walks if w.phase == FROZEN]
    if frozen:
        return Check("False", "CanaryFrozen", "; ".join(frozen), failed=True)
    rolled_back = [f"{_label(n, w)}: {w.message}" for n, w in walks if w.phase == ROLLED_BACK]
    if rolled_back:
        return Check("False", "CanaryRolledBack", "; ".join(rolled_back))
    if plan is not None and plan.phase == PLAN_STOPPED:
        return Check("False", "MigrationPlanStopped", plan.message)
    moving = [(n, w) for n, w in walks if w.phase in ACTIVE]
    if moving:
        parts = [f"{_label(n, w)} {w.phase.lower()} at {w.weight}%" for n, w in moving]
        if all(w.phase == PAUSED for _, w in moving):
            reason = "RolloutPaused"
        elif any(w.reason == AWAITING_APPROVAL for _, w in moving):
            # A person is needed: say so before anything that resolves itself.
            reason = AWAITING_APPROVAL
            parts = [
                f"{_label(n, w)}: {w.message}" if w.reason == AWAITING_APPROVAL else part
                for (n, w), part in zip(moving, parts, strict=True)
            ]
        elif any(w.phase == WAITING for _, w in moving):
            reason = "WaitingForTraffic"
        else:
            reason = "Progressing"
        return Check("True", reason, "; ".join(parts))
    done = [_label(n, w) for n, w in walks if w.phase == SUCCEEDED]
    if done:
        return Check("True", "Promoted", "promoted: " + ", ".join(done))
    return Check("True", "NoCanary", "no canary or migration in flight")
