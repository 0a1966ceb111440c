"""Operator settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorSettings:
    # Namespaces to watch; empty means every namespace (cluster-wide RBAC needed then).
    namespaces: tuple[str, ...] = ()
    log_level: str = "INFO"
    # A full pass over every platform as a safety net behind the watches; 0 turns it off.
    resync_seconds: float = 300.0
    # Events arriving within this window are folded into one reconcile.
    debounce_seconds: float = 0.2
    workers: int = 4
    # kopf peering: the highest priority runs, the others pause. Empty: standalone.
    peering: str = ""
    priority: int | None = None
    # Seconds a replica's peering record counts as alive. A killed replica (no goodbye) is
    # replaced after at most this long; kopf touches the record every lifetime-5..10 s.
    peering_lifetime: int = 12
    # Handle only platforms labelled messaging.platform.dev/operator-instance=<this>; empty:
    # only unlabelled ones. Two operator installs (or a test run beside `make up`) stay apart.
    instance: str = ""


def from_environment(env: dict[str, str] | None = None) -> OperatorSettings:
    env = dict(os.environ if env is None else env)
    raw_namespaces = env.get("MESSAGING_OPERATOR_NAMESPACES", "")
    priority = env.get("MESSAGING_OPERATOR_PRIORITY", "")
    return OperatorSettings(
        namespaces=tuple(n.strip() for n in raw_namespaces.split(",") if n.strip()),
        log_level=env.get("MESSAGING_OPERATOR_LOG_LEVEL", "INFO").upper(),
        resync_seconds=float(env.get("MESSAGING_OPERATOR_RESYNC_SECONDS", "300")),
        debounce_seconds=float(env.get("MESSAGING_OPERATOR_DEBOUNCE_SECONDS", "0.2")),
        workers=int(env.get("MESSAGING_OPERATOR_WORKERS", "4")),
        peering=env.get("MESSAGING_OPERATOR_PEERING", ""),
        priority=int(priority) if priority else None,
        peering_lifetime=int(env.get("MESSAGING_OPERATOR_PEERING_LIFETIME", "12")),
        instance=env.get("MESSAGING_OPERATOR_INSTANCE", ""),
    )
