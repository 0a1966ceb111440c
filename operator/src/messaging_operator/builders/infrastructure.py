"""Managed PostgreSQL, Redis, RabbitMQ and MinIO: a StatefulSet (with its PVC) and a Service each.

External parts get none of this; the services read their endpoints from the user's Secret.
PVCs come from volumeClaimTemplates, so `deletionPolicy` maps onto the StatefulSet's own
persistentVolumeClaimRetentionPolicy: no finalizer is needed to keep or drop the data.
"""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.jobs import job_object
from messaging_operator.builders.metadata import (
    CONTAINER_TMP,
    child_name,
    content_hash,
    object_meta,
    restricted_container_security,
    restricted_pod_security,
    selector_labels,
)
from messaging_operator.builders.routes import single_backend_route
from messaging_operator.builders.secrets import (
    AMQP_PORT,
    POSTGRES_PORT,
    REDIS_PORT,
    database_secret_name,
    object_storage_secret_name,
    postgres_admin_secret_name,
    rabbitmq_secret_name,
    redis_secret_name,
)
from messaging_operator.spec import Backend, Platform

# Tags of the managed-mode images `make images` builds (hack/images/<name>/Dockerfile) and
# publishes beside the services', under the platform's imageRepository: Debian's PostgreSQL,
# Redis and RabbitMQ, and MinIO from the Go module hack/tools/minio pins. hack/images.sh reads
# these four lines, so a new tag here is the tag it builds.
POSTGRES_IMAGE_TAG = "15"
REDIS_IMAGE_TAG = "7.0"
RABBITMQ_IMAGE_TAG = "3.10"
MINIO_IMAGE_TAG = "2026-02-12"
MINIO_PORT = 9000

# uid of the unprivileged user each of those images runs as.
POSTGRES_UID = 70
REDIS_UID = 999
RABBITMQ_UID = 999
MINIO_UID = 1000


def infrastructure_image(platform: Platform, name: str) -> str:
    tags = {
        "postgres": POSTGRES_IMAGE_TAG,
        "redis": REDIS_IMAGE_TAG,
        "rabbitmq": RABBITMQ_IMAGE_TAG,
        "minio": MINIO_IMAGE_TAG,
    }
    return f"{platform.spec.image_repository}/{name}:{tags[name]}"


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _service(platform: Platform, component: str, ports: dict[str, int]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(platform, child_name(platform, component), component),
        "spec": {
            "selector": selector_labels(platform, component),
            "ports": [
                {"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}
                for port_name, port in ports.items()
            ],
        },
    }


def _statefulset(
    platform: Platform,
    component: str,
    backend: Backend,
    container: dict[str, Any],
    *,
    uid: int,
    data_path: str,
    scratch_paths: tuple[str, ...] = (CONTAINER_TMP,),
) -> dict[str, Any]:
    name = child_name(platform, component)
    retention = "Delete" if platform.spec.deletion_policy == "Delete" else "Retain"
    mounts = [{"name": "data", "mountPath": data_path}] + [
        {"name": f"scratch-{i}", "mountPath": path} for i, path in enumerate(scratch_paths)
    ]
    container = {
        "imagePullPolicy": "IfNotPresent",
        "securityContext": restricted_container_security(),
        "volumeMounts": mounts,
        **container,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_meta(platform, name, component),
        "spec": {
            "serviceName": name,
            "replicas": backend.replicas if component == "rabbitmq" else 1,
            "selector": {"matchLabels": selector_labels(platform, component)},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": retention,
                "whenScaled": "Retain",
            },
            "template": {
                "metadata": {"labels": object_meta(platform, name, component)["labels"]},
                "spec": {
                    "securityContext": restricted_pod_security(uid),
                    "containers": [container],
                    "volumes": [
                        {"name": f"scratch-{i}", "emptyDir": {}} for i in range(len(scratch_paths))
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": "data",
                        "labels": selector_labels(platform, component),
                    },
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": backend.storage}},
                        "volumeMode": "Filesystem",
                        **(
                            {"storageClassName": backend.storage_class}
                            if backend.storage_class
                            else {}
                        ),
                    },
                }
            ],
        },
    }


# What a 2xx of the services stands on (services/EVENTS.md, "Durability"). relaxed keeps fsync on
# (a crash never corrupts) but lets commits return before their WAL is flushed.
def postgres_durability_args(durability: str) -> list[str]:
    commit = "off" if durability == "relaxed" else "on"
    settings = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": commit}
    return [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]


# The append-only file takes every write before its reply (a killed Redis loses nothing);
# everysec bounds a lost node to the last second, no leaves the flush to the kernel (~30 s).
REDIS_APPENDFSYNC = {"durable": "everysec", "relaxed": "no"}


def build_postgres(platform: Platform) -> list[dict[str, Any]]:
    backend = platform.spec.postgres
    if not backend.managed:
        return []
    admin = postgres_admin_secret_name(platform)
    container = {
        "name": "postgres",
        "image": infrastructure_image(platform, "postgres"),
        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
        "env": [
            _secret_env("POSTGRES_USER", admin, "username"),
            _secret_env("POSTGRES_PASSWORD", admin, "password"),
            # A subdirectory: the volume's root may hold lost+found, which initdb refuses.
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "args": postgres_durability_args(backend.durability),
        "readinessProbe": {
            "exec": {"command": ["pg_isready", "-U", "postgres"]},
            "periodSeconds": 5,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    return [
        _statefulset(
            platform,
            "postgres",
            backend,
            container,
            uid=POSTGRES_UID,
            data_path="/var/lib/postgresql/data",
            scratch_paths=(CONTAINER_TMP, "/var/run/postgresql"),
        ),
        _service(platform, "postgres", {"postgres": POSTGRES_PORT}),
    ]


def build_redis(platform: Platform) -> list[dict[str, Any]]:
    backend = platform.spec.redis
    if not backend.managed:
        return []
    container = {
        "name": "redis",
        "image": infrastructure_image(platform, "redis"),
        "command": [
            "sh",
            "-c",
            'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data'
            f" --appendfsync {REDIS_APPENDFSYNC[backend.durability]}",
        ],
        "env": [_secret_env("REDIS_PASSWORD", redis_secret_name(platform), "password")],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": REDIS_PORT}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }
    return [
        _statefulset(platform, "redis", backend, container, uid=REDIS_UID, data_path="/data"),
        _service(platform, "redis", {"redis": REDIS_PORT}),
    ]


def build_rabbitmq(platform: Platform) -> list[dict[str, Any]]:
    backend = platform.spec.rabbitmq
    if not backend.managed:
        return []
    secret = rabbitmq_secret_name(platform)
    container = {
        "name": "rabbitmq",
        "image": infrastructure_image(platform, "rabbitmq"),
        "env": [
            _secret_env("RABBITMQ_DEFAULT_USER", secret, "username"),
            _secret_env("RABBITMQ_DEFAULT_PASS", secret, "password"),
            _secret_env("RABBITMQ_ERLANG_COOKIE", secret, "erlang-cookie"),
        ],
        "ports": [
            {"name": "amqp", "containerPort": AMQP_PORT, "protocol": "TCP"},
            {"name": "management", "containerPort": 15672, "protocol": "TCP"},
        ],
        "readinessProbe": {"tcpSocket": {"port": AMQP_PORT}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    return [
        _statefulset(
            platform,
            "rabbitmq",
            backend,
            container,
            uid=RABBITMQ_UID,
            data_path="/var/lib/rabbitmq",
            scratch_paths=(CONTAINER_TMP, "/etc/rabbitmq/conf.d"),
        ),
        _service(platform, "rabbitmq", {"amqp": AMQP_PORT, "management": 15672}),
    ]


def build_minio(platform: Platform) -> list[dict[str, Any]]:
    backend = platform.spec.object_storage
    if not backend.managed:
        return []
    secret = object_storage_secret_name(platform)
    container = {
        "name": "minio",
        "image": infrastructure_image(platform, "minio"),
        "args": ["server", "/data", "--console-address", ":9001"],
        "env": [
            _secret_env("MINIO_ROOT_USER", secret, "accessKey"),
            _secret_env("MINIO_ROOT_PASSWORD", secret, "secretKey"),
        ],
        "ports": [{"name": "s3", "containerPort": MINIO_PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/minio/health/ready", "port": MINIO_PORT},
            "periodSeconds": 5,
        },
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    return [
        _statefulset(platform, "minio", backend, container, uid=MINIO_UID, data_path="/data"),
        _service(platform, "minio", {"s3": MINIO_PORT}),
    ]


def object_storage_endpoint(platform: Platform) -> str:
    return f"http://{child_name(platform, 'minio')}.{platform.namespace}.svc:{MINIO_PORT}"


def object_storage_public_url(platform: Platform) -> str | None:
    """Where clients reach the bucket: spec.objectStorage.publicUrl, else the gateway's host."""
    storage, gateway = platform.spec.object_storage, platform.spec.gateway
    if storage.public_url:
        return storage.public_url
    if gateway is not None and gateway.hostname:
        return f"https://{gateway.hostname}"
    return None


def build_object_storage_route(platform: Platform) -> dict[str, Any] | None:
    """Managed MinIO's bucket at /<bucket> on the platform's gateway: the presigned URLs media
    hands out name the public host, and the gateway passes their Host on, so they verify."""
    storage = platform.spec.object_storage
    if not storage.managed:
        return None
    return single_backend_route(
        platform,
        child_name(platform, "objectstorage"),
        "minio",
        f"/{storage.bucket}",
        child_name(platform, "minio"),
        MINIO_PORT,
    )


# Idempotent on every run: roles and databases are created when missing, passwords re-set.
PROVISION_SCRIPT = r"""set -eu
until pg_isready -q; do echo "waiting for $PGHOST:$PGPORT"; sleep 2; done
for svc in $SERVICES; do
  pw=$(printenv "PASSWORD_$svc")
  psql -v ON_ERROR_STOP=1 -v svc="$svc" -v pw="$pw" -d postgres <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'svc')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'svc') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'svc', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'svc', :'svc')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'svc') \gexec
SQL
done
"""


def database_services(platform: Platform) -> list[str]:
    return sorted(s.name for s in platform.spec.enabled_services if s.owns_database)


def build_database_provision_job(platform: Platform) -> dict[str, Any] | None:
    """A Job that makes one role and one database per data-owning service.

    Jobs are immutable, so its name carries a hash of what it provisions: a new service
    (or a new admin Secret) yields a new Job, an unchanged platform keeps the finished one.
    """
    services = database_services(platform)
    if not services:
        return None
    pg = platform.spec.postgres
    admin = postgres_admin_secret_name(platform) if pg.managed else str(pg.secret_ref)
    if pg.managed:
        host_env: list[dict[str, Any]] = [
            {
                "name": "PGHOST",
                "value": f"{child_name(platform, 'postgres')}.{platform.namespace}.svc",
            },
            {"name": "PGPORT", "value": str(POSTGRES_PORT)},
        ]
    else:
        host_env = [_secret_env("PGHOST", admin, "host"), _secret_env("PGPORT", admin, "port")]
    env = [
        *host_env,
        _secret_env("PGUSER", admin, "username"),
        _secret_env("PGPASSWORD", admin, "password"),
        {"name": "SERVICES", "value": " ".join(services)},
    ] + [
        _secret_env(f"PASSWORD_{svc}", database_secret_name(platform, svc), "password")
        for svc in services
    ]
    digest = content_hash({"services": services, "admin": admin, "mode": pg.mode})[:8]
    return job_object(
        platform,
        child_name(platform, f"postgres-setup-{digest}"),
        "postgres-setup",
        {
            "name": "provision",
            "image": infrastructure_image(platform, "postgres"),
            "command": ["sh", "-c", PROVISION_SCRIPT],
            "env": env,
        },
        uid=POSTGRES_UID,
    )


def build_infrastructure(platform: Platform) -> list[dict[str, Any]]:
    return [
        *build_postgres(platform),
        *build_redis(platform),
        *build_rabbitmq(platform),
        *build_minio(platform),
    ]


def build_infrastructure_jobs(platform: Platform) -> list[dict[str, Any]]:
    # No bucket Job: media makes its bucket at start and its readiness waits for it.
    job = build_database_provision_job(platform)
    return [job] if job else []
