"""Per-service Deployment, plus the environment its migration Job shares."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.configmaps import build_service_config
from messaging_operator.builders.metadata import (
    CONTAINER_TMP,
    NON_ROOT_UID,
    child_name,
    content_hash,
    object_meta,
    restricted_container_security,
    restricted_pod_security,
    selector_labels,
)
from messaging_operator.builders.secrets import (
    SIGNING_KEYS_DIR,
    database_secret_name,
    internal_secret_name,
    object_storage_secret_name,
    rabbitmq_secret_name,
    redis_secret_name,
    signing_key_volume,
)
from messaging_operator.spec import (
    BROKER_SERVICES,
    REDIS_SERVICES,
    STORAGE_SERVICES,
    Platform,
    ServiceSpec,
)

CONFIG_HASH_ANNOTATION = "messaging.platform.dev/config-hash"


# Longer than the gateway's endpoint update (Envoy Gateway pushes the EndpointSlice change to
# Envoy over xDS, under a second) and kube-proxy's sync after it, shorter than the grace period
# (30 s) minus the services' own drain (20 s).
PRE_STOP_SECONDS = 5


def image_for(platform: Platform, service: ServiceSpec, version: str) -> str:
    return f"{platform.spec.image_repository}/{service.name}:{version}"


def _from_secret(env: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def build_service_env(
    platform: Platform, service: ServiceSpec, version: str
) -> list[dict[str, Any]]:
    """Secret-backed settings: from our generated Secrets, or the user's for external parts."""
    spec = platform.spec
    env: list[dict[str, Any]] = [
        {"name": "SERVICE_VERSION", "value": version},
        _from_secret("INTERNAL_TOKEN", internal_secret_name(platform), "token"),
    ]
    if service.workers > 1:
        env.append({"name": "WORKERS", "value": str(service.workers)})
    if service.owns_database:
        env.append(
            _from_secret(
                "DATABASE_URL", database_secret_name(platform, service.name), "DATABASE_URL"
            )
        )
    if service.name in BROKER_SERVICES:
        secret = (
            rabbitmq_secret_name(platform) if spec.rabbitmq.managed else spec.rabbitmq.secret_ref
        )
        env.append(_from_secret("AMQP_URL", str(secret), "url"))
    if service.name in REDIS_SERVICES:
        secret = redis_secret_name(platform) if spec.redis.managed else spec.redis.secret_ref
        env.append(_from_secret("REDIS_URL", str(secret), "url"))
    if service.name in STORAGE_SERVICES:
        storage = spec.object_storage
        secret = (
            object_storage_secret_name(platform) if storage.managed else str(storage.secret_ref)
        )
        env.append(_from_secret("S3_ACCESS_KEY", secret, "accessKey"))
        env.append(_from_secret("S3_SECRET_KEY", secret, "secretKey"))
        if not storage.managed:
            env.append(_from_secret("S3_ENDPOINT_URL", secret, "endpoint"))
    if service.name == "auth":
        env.append({"name": "SIGNING_KEYS_DIR", "value": SIGNING_KEYS_DIR})
    if service.name == "notifications" and spec.smtp is not None and spec.smtp.secret_ref:
        for name, key in (("SMTP_USERNAME", "username"), ("SMTP_PASSWORD", "password")):
            env.append(_from_secret(name, spec.smtp.secret_ref, key))
    return env


def build_deployment(platform: Platform, service: ServiceSpec, version: str) -> dict[str, Any]:
    """The service at `version`: the caller passes the version whose migration has completed."""
    name = child_name(platform, service.name)
    config_hash = content_hash(build_service_config(platform, service))
    meta = object_meta(platform, name, service.name, version=version)
    probe_port = {"port": "http"}
    key_volumes, key_mounts = signing_key_volume(platform, service.name)
    container = {
        "name": service.name,
        "image": f"{platform.spec.image_repository}/{service.name}:{version}",
        "imagePullPolicy": platform.spec.image_pull_policy,
        "command": [f"messaging-{service.name}"],
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": name}}],
        "env": build_service_env(platform, service, version),
        "livenessProbe": {
            "httpGet": {"path": "/health", **probe_port},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", **probe_port},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "resources": {
            "requests": dict(service.resources.requests),
            "limits": dict(service.resources.limits),
        },
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": CONTAINER_TMP}, *key_mounts],
        # The pod leaves the Service's endpoints (and the gateway's servers) while it still
        # serves: the services drain on SIGTERM only after every router has stopped sending.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
    }
    pod_annotations = {CONFIG_HASH_ANNOTATION: config_hash, **service.pod_annotations}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(platform, service.name)},
        "strategy": {
            "type": "RollingUpdate",
            # Never drop below the desired count during a rollout; surge one pod at a time.
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {"labels": meta["labels"], "annotations": pod_annotations},
            "spec": {
                "securityContext": restricted_pod_security(NON_ROOT_UID),
                "automountServiceAccountToken": False,
                # Matches the services' own shutdown grace (20 s) plus headroom for preStop.
                "terminationGracePeriodSeconds": 30,
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}, *key_volumes],
            },
        },
    }
    if not service.autoscaling.enabled:
        # With an HPA the replica count is the HPA's field; leaving it out hands it over.
        spec["replicas"] = service.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
