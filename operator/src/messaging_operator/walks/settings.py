"""What the spec asks of a progressive walk, parsed from the raw spec.

`spec.services.<name>.canary`, `spec.services.<name>.migration`, `spec.migrationPlan` and
`spec.rollout`. Defaults are repeated here (canary keepWarm 10m, migration interval 10m), so
the decisions work for objects stored before the schema grew a field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from messaging_operator.walks.analysis import Thresholds

CANARY = "canary"
MIGRATION = "migration"

DEFAULT_KEEP_WARM = "10m"
_DURATION = re.compile(r"(\d+)([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> int:
    """Seconds in a CRD duration such as `2m` or `1h30m` (the schema admits only s, m, h)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 2m, 1h30m)")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


@dataclass(frozen=True)
class HeaderMatch:
    """One header a request must carry to be sent to the canary (Gateway API HTTPHeaderMatch)."""

    name: str
    value: str
    type: str = "Exact"  # or RegularExpression


@dataclass(frozen=True)
class Preview:
    """canary.preview: where the canary answers before it takes any user traffic (blue-green):
    its own hostname, or a path prefix in front of the service's paths."""

    hostname: str | None = None
    path_prefix: str | None = None


@dataclass(frozen=True)
class WalkSettings:
    """What the spec asks of one service's walk (canary or migration)."""

    kind: str
    # The canary version; None when no canary is declared (or it equals the stable one).
    # Unused for a migration.
    version: str | None = None
    weight: int | None = None  # a plain weight: hold it, never walk on
    steps: tuple[int, ...] = ()
    interval: str = "2m"
    thresholds: Thresholds = field(default_factory=Thresholds)
    on_failure: str = "rollback"
    abort: bool = False
    promote: bool = False
    keep_warm: str = DEFAULT_KEEP_WARM
    # canary.match: requests matching any entry (all of its headers) go to the canary whatever
    # its weight, so testers see it first.
    match: tuple[tuple[HeaderMatch, ...], ...] = ()
    # canary.mirror.percent: that share of the service's GET requests copied to the canary,
    # its answers dropped (analysed before any user traffic moves); None: no mirroring.
    mirror_percent: int | None = None
    # Manual gates: step weights the walk moves to only once a person approved them
    # (`approved` at least that weight; `kubectl mp approve` sets it). The analysis goes on
    # meanwhile, so a failure while waiting still rolls back.
    gates: tuple[int, ...] = ()
    approved: int = 0
    # Blue-green: the canary runs at full size from the start, answers on its preview route,
    # and (without steps) is promoted in one switch once the preview's analysis passes.
    preview: Preview | None = None

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.interval)

    @property
    def keep_warm_seconds(self) -> int:
        return parse_duration(self.keep_warm)

    @property
    def declared(self) -> bool:
        return self.kind == MIGRATION or self.version is not None

    def weight_at(self, step: int) -> int:
        if self.steps:
            return self.steps[min(max(step, 0), len(self.steps) - 1)]
        return self.weight or 0


def canary_settings(raw: Mapping[str, Any] | None, stable_version: str) -> WalkSettings:
    """From `spec.services.<name>.canary` (fields the CRD lacks yet simply default)."""
    raw = raw or {}
    version = raw.get("version")
    preview_raw = raw.get("preview")
    preview = (
        Preview(preview_raw.get("hostname"), preview_raw.get("pathPrefix")) if preview_raw else None
    )
    steps = tuple(int(s) for s in raw.get("steps") or ())
    if preview is not None and not steps and raw.get("weight") is None:
        steps = (0,)  # blue-green: judged on the preview at 0 %, then all at once
    return WalkSettings(
        kind=CANARY,
        version=None if version in (None, "", stable_version) else str(version),
        weight=None if raw.get("weight") is None else int(raw["weight"]),
        steps=steps,
        preview=preview,
        interval=str(raw.get("interval", "2m")),
        thresholds=Thresholds.from_spec(raw.get("analysis")),
        on_failure=str(raw.get("onFailure", "rollback")),
        abort=bool(raw.get("abort", False)),
        promote=bool(raw.get("promote", False)),
        keep_warm=str(raw.get("keepWarm", DEFAULT_KEEP_WARM)),
        match=tuple(
            tuple(
                HeaderMatch(str(h["name"]), str(h["value"]), str(h.get("type", "Exact")))
                for h in entry.get("headers") or ()
            )
            for entry in raw.get("match") or ()
            if entry.get("headers")
        ),
        mirror_percent=int((raw.get("mirror") or {}).get("percent") or 0) or None,
        gates=tuple(int(g) for g in raw.get("gates") or ()),
        approved=int(raw.get("approved") or 0),
    )


def migration_settings(
    raw: Mapping[str, Any] | None, plan: Mapping[str, Any] | None = None
) -> WalkSettings:
    """From `spec.services.<name>.migration`, its gaps filled from `spec.migrationPlan`."""
    # A plan without steps moves each service in one step, still gated by its analysis.
    default_steps: tuple[int, ...] = () if plan is None else (100,)
    raw, plan = raw or {}, plan or {}
    steps = raw.get("steps") or plan.get("steps") or default_steps
    return WalkSettings(
        kind=MIGRATION,
        weight=None if raw.get("weight") is None else int(raw["weight"]),
        steps=tuple(int(s) for s in steps),
        interval=str(raw.get("interval") or plan.get("interval") or "10m"),
        thresholds=Thresholds.from_spec(raw.get("analysis") or plan.get("analysis")),
        on_failure=str(raw.get("onFailure", "rollback")),
        abort=bool(raw.get("abort", False)),
        promote=bool(raw.get("promote", False)),
        gates=tuple(int(g) for g in raw.get("gates") or ()),
        approved=int(raw.get("approved") or 0),
    )


@dataclass(frozen=True)
class RolloutControls:
    """`spec.rollout`: platform-wide switches over every walk at once."""

    paused: bool = False
    promote: bool = False
    abort: bool = False

    @classmethod
    def from_spec(cls, raw: Mapping[str, Any] | None) -> RolloutControls:
        raw = raw or {}
        return cls(
            paused=bool(raw.get("paused", False)),
            promote=bool(raw.get("promote", False)),
            abort=bool(raw.get("abort", False)),
        )
