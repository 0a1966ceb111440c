"""Local endpoints: the services run as processes on this machine's loopback, not as pods.

With `spec.endpoints.mode: local` each service's Service is an ExternalName Service whose name
is a loopback address, so a gateway fed the HTTPRoutes reaches the local process at
address:port. Not a selector-less Service with an EndpointSlice: the API server refuses
loopback addresses in EndpointSlices and Endpoints ("may not be in the loopback range").
Nothing but a loopback address is ever written here: traffic must never leave the machine.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import Platform, ServiceSpec

DEFAULT_LOCAL_ADDRESS = "127.0.0.1"


def require_loopback(address: str) -> str:
    """The address itself, if it is a loopback IP literal (127.0.0.0/8 or ::1)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"local endpoint address {address!r} is not an IP address") from None
    if not parsed.is_loopback:
        raise ValueError(f"local endpoint address {address} is not a loopback address")
    return str(parsed)


def build_local_service(platform: Platform, service: ServiceSpec, address: str) -> dict[str, Any]:
    """The service's Service, pointing at its process on `address` (same name and port as in a
    cluster, so the HTTPRoutes and their weights are the ones a cluster gets)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "spec": {
            "type": "ExternalName",
            "externalName": require_loopback(address),
            "ports": [
                {
                    "name": "http",
                    "port": service.port,
                    "targetPort": service.port,
                    "protocol": "TCP",
                }
            ],
        },
    }
