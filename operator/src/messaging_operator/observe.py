"""What a reconcile reads before it builds: the platform's live children (lists by label),
the user's Secrets for external parts, and the Gateway API objects its routes depend on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from messaging_operator.builders.metadata import MANAGED_BY, PLATFORM_LABEL
from messaging_operator.builders.secrets import decode
from messaging_operator.kube import KubeClient
from messaging_operator.spec import Platform
from messaging_operator.status import Observation

# What each external part's Secret must hold.
EXTERNAL_KEYS = {
    "postgres": ("host", "username", "password"),
    "redis": ("url",),
    "rabbitmq": ("url",),
    "objectStorage": ("endpoint", "accessKey", "secretKey"),
}


def owned_by(obj: dict[str, Any], platform: Platform) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(ref.get("uid") == platform.uid for ref in refs)


async def read_live(
    client: KubeClient, platform: Platform, kinds: Iterable[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    selector = f"{PLATFORM_LABEL}={platform.name},app.kubernetes.io/managed-by={MANAGED_BY}"
    lists = await asyncio.gather(
        *(client.list(kind, platform.namespace, selector) for kind in kinds)
    )
    live = {}
    for items in lists:
        for obj in items:
            # Pods belong to ReplicaSets and Jobs; every other kind must be ours by owner.
            if obj["kind"] == "Pod" or owned_by(obj, platform):
                live[(obj["kind"], obj["metadata"]["name"])] = obj
    return live


async def read_external(
    client: KubeClient, platform: Platform, seen: Observation
) -> dict[str, str] | None:
    """Check the user's Secrets for external parts; returns the PostgreSQL one's data."""
    spec = platform.spec
    parts = {
        "postgres": spec.postgres,
        "redis": spec.redis,
        "rabbitmq": spec.rabbitmq,
        "objectStorage": spec.object_storage,
    }
    postgres: dict[str, str] | None = None
    for part, backend in parts.items():
        if backend.managed or not backend.secret_ref:
            continue
        secret = await client.get("Secret", platform.namespace, backend.secret_ref)
        if secret is None:
            seen.missing.append(
                f"Secret {backend.secret_ref} (spec.{part}.secretRef) not found in "
                f"namespace {platform.namespace}"
            )
            continue
        data = decode(secret.get("data"))
        absent = [key for key in EXTERNAL_KEYS[part] if key not in data]
        if absent:
            seen.missing.append(
                f"Secret {backend.secret_ref} (spec.{part}.secretRef) lacks key(s) "
                + ", ".join(absent)
            )
        if part == "postgres":
            postgres = data
    return postgres


async def read_routing(client: KubeClient, platform: Platform, seen: Observation) -> None:
    gateway = platform.spec.gateway
    if gateway is None:
        return
    ref = gateway.gateway_ref
    if not await client.api_served("gateway.networking.k8s.io/v1"):
        seen.gateway_api_installed = False
        return
    found = await client.get("Gateway", ref.namespace or platform.namespace, ref.name)
    seen.gateway_found = found is not None
    if gateway.legacy is not None:
        legacy = await client.get("Service", platform.namespace, gateway.legacy.service)
        seen.legacy_found = legacy is not None
