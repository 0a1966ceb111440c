"""The platform's migration plan: services leave the legacy monolith one after another.

Each service walks legacy -> new on its own migration walk (`canary.decide_walk`, kind
migration), gated by its own analysis; the plan only says whose turn it is. The order is the
seed's dependency order unless `spec.migrationPlan.order` gives another. A walk that fails
(rolled back to legacy, or frozen) stops the plan where it is: later services do not start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from messaging_operator.walks.canary import FROZEN, ROLLED_BACK, SUCCEEDED, WalkState

# The seed's order: leaves first (relay, media, notifications), then auth and the services
# that need its tokens, websocket last since it fans out everything the others publish.
SEED_ORDER: tuple[str, ...] = (
    "relay",
    "media",
    "notifications",
    "auth",
    "users",
    "messages",
    "groups",
    "websocket",
)

PLAN_PROGRESSING = "Progressing"
PLAN_STOPPED = "Stopped"
PLAN_SUCCEEDED = "Succeeded"


@dataclass(frozen=True)
class PlanStatus:
    phase: str
    current: str | None  # the service walking now (or the one the plan stopped at)
    completed: tuple[str, ...] = ()
    pending: tuple[str, ...] = field(default_factory=tuple)
    message: str = ""

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "phase": self.phase,
            "completed": list(self.completed),
            "pending": list(self.pending),
            "message": self.message,
        }
        if self.current is not None:
            status["current"] = self.current
        return status


def plan_order(raw_plan: Mapping[str, Any] | None, enabled: Iterable[str]) -> tuple[str, ...]:
    """The services the plan walks, in order: the declared order (or the seed's), enabled only."""
    on = set(enabled)
    declared = tuple((raw_plan or {}).get("order") or SEED_ORDER)
    return tuple(name for name in declared if name in on)


def decide_plan(order: Iterable[str], walks: Mapping[str, WalkState | None]) -> PlanStatus:
    """Whose turn it is, from the migration walks recorded in status (service -> walk)."""
    names = tuple(order)
    completed: list[str] = []
    for index, name in enumerate(names):
        walk = walks.get(name)
        if walk is not None and walk.phase == SUCCEEDED:
            completed.append(name)
            continue
        pending = names[index + 1 :]
        if walk is not None and walk.phase in (ROLLED_BACK, FROZEN):
            where = "rolled back to legacy" if walk.phase == ROLLED_BACK else "frozen"
            message = (
                f"stopped at {name} ({where}: {walk.message}); "
                f"not started: {', '.join(pending) or 'none'}"
            )
            return PlanStatus(PLAN_STOPPED, name, tuple(completed), pending, message)
        message = f"migrating {name} ({len(completed)}/{len(names)} done)"
        return PlanStatus(PLAN_PROGRESSING, name, tuple(completed), pending, message)
    return PlanStatus(PLAN_SUCCEEDED, None, tuple(completed), (), "every service migrated")


def planned_weight(plan: PlanStatus, name: str, walk: WalkState | None) -> int:
    """The new service's share under the plan: done 100, waiting its turn 0, else its walk's."""
    if name in plan.completed:
        return 100
    if name in plan.pending:
        return 0
    return 0 if walk is None else walk.weight
