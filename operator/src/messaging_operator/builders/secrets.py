"""Generated credentials: created once, then carried over unchanged on every reconcile.

`existing` holds the decoded data of Secrets already in the cluster; a value found there always
wins over a fresh one, so restarts and re-applies never rotate a password under a running service.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import Platform

# kind of secret value -> a new random value of that kind ("password", "jwt-private-key").
Generator = Callable[[str], str]

POSTGRES_PORT = 5432
REDIS_PORT = 6379
AMQP_PORT = 5672


def postgres_admin_secret_name(platform: Platform) -> str:
    return child_name(platform, "postgres-admin")


def database_secret_name(platform: Platform, service: str) -> str:
    return child_name(platform, f"db-{service}")


def redis_secret_name(platform: Platform) -> str:
    return child_name(platform, "redis")


def rabbitmq_secret_name(platform: Platform) -> str:
    return child_name(platform, "rabbitmq")


def object_storage_secret_name(platform: Platform) -> str:
    return child_name(platform, "objectstorage")


def jwt_secret_name(platform: Platform) -> str:
    return child_name(platform, "jwt")


def internal_secret_name(platform: Platform) -> str:
    return child_name(platform, "internal")


def encode(data: Mapping[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())}


def decode(data: Mapping[str, str] | None) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (data or {}).items()}


def _secret(platform: Platform, name: str, component: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(platform, name, component),
        "type": "Opaque",
        "data": encode(data),
    }


def _kept(
    existing: Mapping[str, Mapping[str, str]], name: str, key: str, make: Callable[[], str]
) -> str:
    value = existing.get(name, {}).get(key)
    return value if value else make()


def build_postgres_admin_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any] | None:
    if not platform.spec.postgres.managed:
        return None
    name = postgres_admin_secret_name(platform)
    password = _kept(existing, name, "password", lambda: generate("password"))
    return _secret(platform, name, "postgres", {"username": "postgres", "password": password})


def postgres_endpoint(
    platform: Platform, external: Mapping[str, str] | None
) -> tuple[str, int] | None:
    """Where the services reach PostgreSQL; None while an external Secret is missing."""
    if platform.spec.postgres.managed:
        return f"{child_name(platform, 'postgres')}.{platform.namespace}.svc", POSTGRES_PORT
    if not external or "host" not in external:
        return None
    return external["host"], int(external.get("port", POSTGRES_PORT))


def build_database_secrets(
    platform: Platform,
    existing: Mapping[str, Mapping[str, str]],
    generate: Generator,
    external_postgres: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One role and database per service that owns data, named after the service."""
    endpoint = postgres_endpoint(platform, external_postgres)
    if endpoint is None:
        return []
    host, port = endpoint
    result = []
    for service in platform.spec.enabled_services:
        if not service.owns_database:
            continue
        name = database_secret_name(platform, service.name)
        password = _kept(existing, name, "password", lambda: generate("password"))
        user = database = service.name
        result.append(
            _secret(
                platform,
                name,
                service.name,
                {
                    "username": user,
                    "password": password,
                    "database": database,
                    "host": host,
                    "port": str(port),
                    "DATABASE_URL": f"postgresql://{user}:{password}@{host}:{port}/{database}",
                },
            )
        )
    return result


def build_redis_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any] | None:
    if not platform.spec.redis.managed:
        return None
    name = redis_secret_name(platform)
    password = _kept(existing, name, "password", lambda: generate("password"))
    host = f"{child_name(platform, 'redis')}.{platform.namespace}.svc"
    url = f"redis://:{password}@{host}:{REDIS_PORT}/0"
    return _secret(platform, name, "redis", {"password": password, "url": url})


def build_rabbitmq_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any] | None:
    if not platform.spec.rabbitmq.managed:
        return None
    name = rabbitmq_secret_name(platform)
    password = _kept(existing, name, "password", lambda: generate("password"))
    cookie = _kept(existing, name, "erlang-cookie", lambda: generate("password"))
    host = f"{child_name(platform, 'rabbitmq')}.{platform.namespace}.svc"
    return _secret(
        platform,
        name,
        "rabbitmq",
        {
            "username": "messaging",
            "password": password,
            "erlang-cookie": cookie,
            "url": f"amqp://messaging:{password}@{host}:{AMQP_PORT}/",
        },
    )


def build_object_storage_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any] | None:
    if not platform.spec.object_storage.managed:
        return None
    name = object_storage_secret_name(platform)
    access = _kept(existing, name, "accessKey", lambda: "messaging")
    secret = _kept(existing, name, "secretKey", lambda: generate("password"))
    return _secret(platform, name, "minio", {"accessKey": access, "secretKey": secret})


# Where auth reads its signing keys: the JWT Secret mounted whole (private.pem + kid), the layout
# auth's KeyRing reads (services/auth/src/auth_service/core/keys.py).
SIGNING_KEYS_DIR = "/var/run/secrets/messaging/signing-keys"


def signing_key_volume(
    platform: Platform, service_name: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts) of the signing keys: auth's only."""
    if service_name != "auth":
        return [], []
    volume = {
        "name": "signing-keys",
        # fsGroup owns it: the non-root service reads it, nobody else on the node does.
        "secret": {"secretName": jwt_secret_name(platform), "defaultMode": 0o440},
    }
    mount = {"name": "signing-keys", "mountPath": SIGNING_KEYS_DIR, "readOnly": True}
    return [volume], [mount]


def build_jwt_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any]:
    """The signing key only auth mounts; the others fetch its public half from auth's JWKS."""
    name = jwt_secret_name(platform)
    key = _kept(existing, name, "private.pem", lambda: generate("jwt-private-key"))
    kid = _kept(existing, name, "kid", lambda: generate("key-id"))
    return _secret(platform, name, "auth", {"private.pem": key, "kid": kid})


def build_internal_secret(
    platform: Platform, existing: Mapping[str, Mapping[str, str]], generate: Generator
) -> dict[str, Any]:
    """The service credential every service holds (INTERNAL_TOKEN): internal endpoints, such
    as auth's revocation snapshot, answer only callers that present it."""
    name = internal_secret_name(platform)
    token = _kept(existing, name, "token", lambda: generate("password"))
    return _secret(platform, name, "internal", {"token": token})


def build_secrets(
    platform: Platform,
    existing: Mapping[str, Mapping[str, str]],
    generate: Generator,
    external_postgres: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    single = [
        build_postgres_admin_secret(platform, existing, generate),
        build_redis_secret(platform, existing, generate),
        build_rabbitmq_secret(platform, existing, generate),
        build_object_storage_secret(platform, existing, generate),
        build_jwt_secret(platform, existing, generate),
        build_internal_secret(platform, existing, generate),
    ]
    return [s for s in single if s] + build_database_secrets(
        platform, existing, generate, external_postgres
    )
