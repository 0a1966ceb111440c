"""A service's canary: its own Deployment and Service at the canary version.

The canary pods carry the component `<service>-canary`, so neither the stable Deployment's
selector nor the stable Service's ever matches them (overlapping selectors make two
Deployments fight over pods). The HTTPRoute sends the canary its share through the canary
Service. When the walk is over (promoted or rolled back) the Deployment stays at zero
replicas until the canary is removed from the spec, and is pruned then; right after a
promotion it carries all the traffic while the previous stable is kept warm.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.deployments import build_deployment
from messaging_operator.builders.metadata import child_name, labels, selector_labels
from messaging_operator.builders.services import build_service
from messaging_operator.spec import Platform, ServiceSpec

CANARY_SUFFIX = "canary"


def canary_component(service: ServiceSpec) -> str:
    return f"{service.name}-{CANARY_SUFFIX}"


def canary_name(platform: Platform, service: ServiceSpec) -> str:
    return child_name(platform, canary_component(service))


def build_canary_deployment(
    platform: Platform, service: ServiceSpec, version: str, replicas: int
) -> dict[str, Any]:
    """The canary at `version`: one pod while it walks, the service's size while it carries
    all traffic after a promotion (see `canary.serving`), none once the walk is over."""
    deployment = build_deployment(platform, service, version)
    component = canary_component(service)
    deployment["metadata"]["name"] = canary_name(platform, service)
    deployment["metadata"]["labels"] = labels(platform, component, version)
    spec = deployment["spec"]
    spec["selector"] = {"matchLabels": selector_labels(platform, component)}
    spec["template"]["metadata"]["labels"] = labels(platform, component, version)
    # No HPA follows a canary: its size is ours.
    spec["replicas"] = replicas
    return deployment


def build_canary_service(platform: Platform, service: ServiceSpec) -> dict[str, Any]:
    built = build_service(platform, service)
    component = canary_component(service)
    built["metadata"]["name"] = canary_name(platform, service)
    built["metadata"]["labels"] = labels(platform, component)
    built["spec"]["selector"] = selector_labels(platform, component)
    return built
