"""The three backendRefs weights of one service's HTTPRoute: legacy / stable / canary.

`migration_weight` is the new service's share of the path (the rest goes to the legacy
monolith); `canary_weight` is the canary's share of what reaches the new service, as Flagger
and Argo Rollouts count it, so a canary at 10 % during a 50 % migration gets 5 % of the path.
The three always add up to 100 and none is negative, whatever the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RouteWeights:
    legacy: int
    stable: int
    canary: int

    @property
    def total(self) -> int:
        return self.legacy + self.stable + self.canary

    @property
    def new(self) -> int:
        """The share (percent) of the path served by the new service, stable and canary."""
        if self.total <= 0:
            return 0
        return round(100 * (self.stable + self.canary) / self.total)

    def to_status(self) -> dict[str, int]:
        return {"legacy": self.legacy, "stable": self.stable, "canary": self.canary}


def clamp_percent(value: int) -> int:
    return max(0, min(100, int(value)))


def route_weights(*, has_legacy: bool, migration_weight: int, canary_weight: int) -> RouteWeights:
    # Without a legacy backend there is nowhere else to send the path: all of it is new.
    new = clamp_percent(migration_weight) if has_legacy else 100
    canary_share = clamp_percent(canary_weight)
    canary = round(new * canary_share / 100)
    if canary_share > 0 and new > 0:
        # A declared canary always sees some traffic, or its analysis could never pass.
        canary = max(canary, 1)
    return RouteWeights(legacy=100 - new, stable=new - canary, canary=canary)
