"""What a reconcile reads before it plans: the platform's live children (lists by label),
the user's Secrets for external parts, and the Gateway API objects its routes depend on.
`observe` returns them as a read-only Observation; plan.py decides from it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from messaging_operator.builders.infrastructure import build_database_provision_job
from messaging_operator.builders.metadata import MANAGED_BY, PLATFORM_LABEL
from messaging_operator.builders.secrets import decode
from messaging_operator.kube import KubeClient
from messaging_operator.spec import Platform
from messaging_operator.status import Observation, job_state

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


async def observe(
    client: KubeClient, platform: Platform, live: dict[tuple[str, str], dict[str, Any]]
) -> tuple[Observation, dict[str, str] | None]:
    """The facts beside the children, and the external PostgreSQL Secret's data (if any)."""
    missing, postgres = await read_external(client, platform)
    installed, gateway, legacy = await read_routing(client, platform)
    provision = build_database_provision_job(platform)
    provisioned = provision is not None and (
        job_state(live.get(("Job", provision["metadata"]["name"])))[0] == "Complete"
    )
    seen = Observation(
        missing=tuple(missing),
        gateway_found=gateway,
        gateway_api_installed=installed,
        legacy_found=legacy,
        migration_gate_open=provisioned,
    )
    return seen, postgres


async def read_external(
    client: KubeClient, platform: Platform
) -> tuple[list[str], dict[str, str] | None]:
    """Check the user's Secrets for external parts: what is missing, and the PostgreSQL
    Secret's data."""
    missing: list[str] = []
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
            missing.append(
                f"Secret {backend.secret_ref} (spec.{part}.secretRef) not found in "
                f"namespace {platform.namespace}"
            )
            continue
        data = decode(secret.get("data"))
        absent = [key for key in EXTERNAL_KEYS[part] if key not in data]
        if absent:
            missing.append(
                f"Secret {backend.secret_ref} (spec.{part}.secretRef) lacks key(s) "
                + ", ".join(absent)
            )
        if part == "postgres":
            postgres = data
    return missing, postgres


async def read_routing(
    client: KubeClient, platform: Platform
) -> tuple[bool, bool | None, bool | None]:
    """(Gateway API installed, the Gateway found, the legacy Service found); None where the
    spec names none."""
    gateway = platform.spec.gateway
    if gateway is None:
        return True, None, None
    ref = gateway.gateway_ref
    if not await client.api_served("gateway.networking.k8s.io/v1"):
        return False, None, None
    found = await client.get("Gateway", ref.namespace or platform.namespace, ref.name)
    legacy_found = None
    if gateway.legacy is not None:
        legacy = await client.get("Service", platform.namespace, gateway.legacy.service)
        legacy_found = legacy is not None
    return True, found is not None, legacy_found
