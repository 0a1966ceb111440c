"""Per-service ConfigMap: the non-secret settings each service reads from its environment."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.infrastructure import (
    object_storage_endpoint,
    object_storage_public_url,
)
from messaging_operator.builders.metadata import child_name, object_meta
from messaging_operator.spec import SERVICE_PORTS, Platform, ServiceSpec

# Services that judge blocks with messaging_kit.blocks (users' snapshot plus its events).
BLOCK_JUDGES = frozenset({"groups", "media", "websocket"})
# Services that keep what they acknowledge only in Redis: not ready while it keeps no
# append-only file (services/EVENTS.md, Durability), unless the user relaxed that.
REDIS_DURABLE_SERVICES = frozenset({"relay", "websocket"})


def build_service_config(platform: Platform, service: ServiceSpec) -> dict[str, str]:
    auth = f"http://{child_name(platform, 'auth')}.{platform.namespace}.svc:{SERVICE_PORTS['auth']}"
    data = {
        "SERVICE_NAME": service.name,
        # Inside a container the service must listen on every interface, not loopback.
        "HOST": "0.0.0.0",  # noqa: S104
        "PORT": str(service.port),
        "LOG_LEVEL": platform.spec.log_level,
        "TOKEN_ISSUER": "messaging-auth",
        "TOKEN_AUDIENCE": "messaging",
        "JWKS_URL": f"{auth}/.well-known/jwks.json",
        "EVENTS_EXCHANGE": "messaging.events",
    }
    if service.name in BLOCK_JUDGES:
        users = child_name(platform, "users")
        port = SERVICE_PORTS["users"]
        data["BLOCKS_URL"] = f"http://{users}.{platform.namespace}.svc:{port}/internal/v1/blocks"
    if service.name == "groups":
        # Who accepted an adder as a contact: the others are invited (groups_service.consent).
        users = child_name(platform, "users")
        port = SERVICE_PORTS["users"]
        data["CONTACTS_URL"] = (
            f"http://{users}.{platform.namespace}.svc:{port}/internal/v1/contacts/accepting"
        )
    if service.name == "websocket":
        # Whose presence a viewer may see: users judges (contacts, each user's setting).
        users = child_name(platform, "users")
        port = SERVICE_PORTS["users"]
        data["PRESENCE_AUDIENCE_URL"] = (
            f"http://{users}.{platform.namespace}.svc:{port}/internal/v1/presence-audience"
        )
    if service.name == "users":
        # An avatar must be media its user uploaded: users asks media (users_service.avatars).
        media = child_name(platform, "media")
        data["MEDIA_URL"] = f"http://{media}.{platform.namespace}.svc:{SERVICE_PORTS['media']}"
    if service.name in REDIS_DURABLE_SERVICES and platform.spec.redis.durability == "relaxed":
        # An external Redis without appendonly is then accepted (managed: appendfsync no).
        data["REDIS_REQUIRE_AOF"] = "false"
    gateway = platform.spec.gateway
    if service.name == "auth" and gateway is not None and gateway.hostname:
        # Links in mails (email verification) open the web client on the public hostname.
        data["PUBLIC_BASE_URL"] = f"https://{gateway.hostname}"
    if service.name == "notifications":
        if platform.spec.smtp is not None:
            data["SMTP_HOST"] = platform.spec.smtp.host
            data["SMTP_PORT"] = str(platform.spec.smtp.port)
        if gateway is not None and gateway.hostname:
            data["APP_URL"] = f"https://{gateway.hostname}"
    if service.name == "media":
        data["S3_BUCKET"] = platform.spec.object_storage.bucket
        if platform.spec.object_storage.managed:
            data["S3_ENDPOINT_URL"] = object_storage_endpoint(platform)
        public = object_storage_public_url(platform)
        if public:
            data["S3_PUBLIC_ENDPOINT_URL"] = public
    return data


def build_configmap(platform: Platform, service: ServiceSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(platform, child_name(platform, service.name), service.name),
        "data": build_service_config(platform, service),
    }
