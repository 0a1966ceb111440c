"""Per-service ClusterIP Service, the backend of its HTTPRoute."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta, selector_labels
from messaging_operator.spec import Platform, ServiceSpec


def build_service(platform: Platform, service: ServiceSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(platform, service.name),
            "ports": [
                {"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }
