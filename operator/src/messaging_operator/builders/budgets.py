"""Per-service PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta, selector_labels
from messaging_operator.spec import Platform, ServiceSpec


def build_pod_disruption_budget(platform: Platform, service: ServiceSpec) -> dict[str, Any] | None:
    """Voluntary evictions take one pod at a time; a single replica (or none) gets no budget,
    since a budget that allows no eviction would block node drains forever."""
    replicas = service.autoscaling.min_replicas if service.autoscaling.enabled else service.replicas
    if replicas < 2:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(platform, service.name)},
        },
    }
