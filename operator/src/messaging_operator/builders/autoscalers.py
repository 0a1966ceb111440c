"""Optional per-service HorizontalPodAutoscaler (autoscaling/v2, on CPU)."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import Platform, ServiceSpec


def build_autoscaler(platform: Platform, service: ServiceSpec) -> dict[str, Any] | None:
    scaling = service.autoscaling
    if not scaling.enabled:
        return None
    name = child_name(platform, service.name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(platform, name, service.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_percent,
                        },
                    },
                }
            ],
        },
    }
