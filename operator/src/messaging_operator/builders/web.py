"""The web client: static files (services/web) served by an unprivileged nginx, routed at `/`.

It is not one of the eight backend services: no database, no events, no canary. Its
HTTPRoute matches the PathPrefix `/`, which the Gateway API ranks below every longer prefix,
so `/api/v1/...` and `/ws` keep going to the services and everything else to the client.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import (
    CONTAINER_TMP,
    NON_ROOT_UID,
    child_name,
    object_meta,
    restricted_container_security,
    restricted_pod_security,
    selector_labels,
)
from messaging_operator.builders.routes import single_backend_route
from messaging_operator.spec import Platform

WEB = "web"
# nginx as a non-root user cannot bind below 1024.
WEB_PORT = 8080


def build_web_deployment(platform: Platform) -> dict[str, Any] | None:
    web = platform.spec.web
    if not web.enabled:
        return None
    meta = object_meta(platform, child_name(platform, WEB), WEB, version=web.version)
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": WEB,
        "image": f"{platform.spec.image_repository}/{WEB}:{web.version}",
        "imagePullPolicy": platform.spec.image_pull_policy,
        "ports": [{"name": "http", "containerPort": WEB_PORT, "protocol": "TCP"}],
        "livenessProbe": probe,
        "readinessProbe": {**probe, "periodSeconds": 5},
        # Static files: a few MiB of nginx workers.
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": restricted_container_security(),
        # nginx writes its pid and temp files there; the root filesystem stays read-only.
        "volumeMounts": [{"name": "tmp", "mountPath": CONTAINER_TMP}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": web.replicas,
            "selector": {"matchLabels": selector_labels(platform, WEB)},
            "template": {
                "metadata": {"labels": meta["labels"]},
                "spec": {
                    "securityContext": restricted_pod_security(NON_ROOT_UID),
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def build_web_service(platform: Platform) -> dict[str, Any] | None:
    if not platform.spec.web.enabled:
        return None
    meta = object_meta(platform, child_name(platform, WEB), WEB)
    spec = {
        "type": "ClusterIP",
        "selector": selector_labels(platform, WEB),
        "ports": [{"name": "http", "port": WEB_PORT, "targetPort": "http", "protocol": "TCP"}],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def build_web_route(platform: Platform) -> dict[str, Any] | None:
    if not platform.spec.web.enabled:
        return None
    name = child_name(platform, WEB)
    return single_backend_route(platform, name, WEB, "/", name, WEB_PORT)


def build_web(platform: Platform, with_route: bool) -> list[dict[str, Any]]:
    built = [build_web_deployment(platform), build_web_service(platform)]
    if with_route:
        built.append(build_web_route(platform))
    return [obj for obj in built if obj is not None]
