"""Per-service NetworkPolicy: who may open a connection to a service's pods.

Ingress only, on the service's port, from two peers: the platform's own pods (every pod
carrying its platform label: the other services, the migration and backup Jobs) and the
pods of the parent Gateway. NetworkPolicies are additive, so a cluster that scrapes
`/metrics` from another namespace adds a policy of its own for its Prometheus. Kubelet
probes are not subject to policies. Paths are not a policy's business: `/internal` routes are
kept from the gateway by the HTTPRoutes (they name only `/api/v1/...` prefixes and `/ws`) and
refused without the service credential (`INTERNAL_TOKEN`) by the services themselves.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.canaries import canary_component
from messaging_operator.builders.metadata import (
    COMPONENT_LABEL,
    PLATFORM_LABEL,
    child_name,
    object_meta,
)
from messaging_operator.spec import Gateway, Platform, ServiceSpec

# GEP-1762: an in-cluster Gateway's data-plane pods carry the Gateway's name in this label
# (Istio, Envoy Gateway's merged mode, NGINX Gateway Fabric, kgateway).
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
# Set on every namespace by the API server (immutable): selects exactly one namespace.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def gateway_peer(platform: Platform, gateway: Gateway) -> dict[str, Any]:
    """The Gateway's proxy pods: where `gateway.dataPlane` says, else GEP-1762's label in the
    Gateway's namespace (the platform's when unnamed)."""
    plane = gateway.data_plane
    namespace = plane.namespace or gateway.gateway_ref.namespace or platform.namespace
    labels = dict(plane.pod_labels) or {GATEWAY_NAME_LABEL: gateway.gateway_ref.name}
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}},
        "podSelector": {"matchLabels": labels},
    }


def build_network_policy(platform: Platform, service: ServiceSpec) -> dict[str, Any]:
    peers: list[dict[str, Any]] = [
        {"podSelector": {"matchLabels": {PLATFORM_LABEL: platform.name}}}
    ]
    if platform.spec.gateway is not None:
        peers.append(gateway_peer(platform, platform.spec.gateway))
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": {
            # The stable pods and the canary's (which carry `<service>-canary`).
            "podSelector": {
                "matchLabels": {PLATFORM_LABEL: platform.name},
                "matchExpressions": [
                    {
                        "key": COMPONENT_LABEL,
                        "operator": "In",
                        "values": [service.name, canary_component(service)],
                    }
                ],
            },
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": service.port}]}],
        },
    }
