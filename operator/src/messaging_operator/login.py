"""How the operator finds the API server: its pod's ServiceAccount, else a kubeconfig.

kopf's own service-account login names `https://kubernetes.default.svc`, which needs cluster DNS.
The kubelet gives every pod KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and client-go
dials those: so do we, so the operator also runs where no DNS answers (a hostNetwork pod, a node
whose CoreDNS is not up yet, a container beside the API server).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import kopf


def in_cluster_server(env: Mapping[str, str]) -> str | None:
    """The API server's URL from the pod's environment, as client-go's InClusterConfig builds it."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"https://{host}:{port}"


def login(env: Mapping[str, str], **kwargs: Any) -> kopf.ConnectionInfo | None:
    info = kopf.login_with_service_account(**kwargs)
    if info is not None:
        server = in_cluster_server(env)
        return dataclasses.replace(info, server=server) if server else info
    return kopf.login_with_kubeconfig(**kwargs)
