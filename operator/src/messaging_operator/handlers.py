"""Thin kopf handlers: every watch event becomes "reconcile that platform" on the queue.

Only `@kopf.on.event` is used, on purpose: change handlers (create/update/resume), timers and
daemons make kopf write progress annotations and add a finalizer to each platform, which would
break "zero writes at rest" and block deletion while the operator is down. The reconcile itself
is level-based (reconcile.py), so an event only needs to say which platform to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import kopf

from messaging_operator import GROUP, PLURAL, VERSION
from messaging_operator import login as operator_login
from messaging_operator.builders.metadata import MANAGED_BY, PLATFORM_LABEL
from messaging_operator.essence import NoDiffBase
from messaging_operator.kinds import Watch, watched
from messaging_operator.kube import KubeClient
from messaging_operator.notifications import Notifier
from messaging_operator.peering import PeerGate
from messaging_operator.queue import Key, ReconcileQueue
from messaging_operator.reconcile import reconcile
from messaging_operator.settings import OperatorSettings, from_environment
from messaging_operator.spec import handled_by

log = logging.getLogger("messaging_operator")
OURS = {"app.kubernetes.io/managed-by": MANAGED_BY}


@dataclass
class References:
    """What a platform points at outside its own children (watched to react to their arrival)."""

    secrets: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    gateway: tuple[str, str] | None = None


@dataclass
class Runtime:
    config: OperatorSettings
    client: KubeClient
    queue: ReconcileQueue
    notifier: Notifier
    platforms: dict[Key, References] = field(default_factory=dict)
    resync: asyncio.Task[None] | None = None


def references_of(body: kopf.Body | dict[str, Any]) -> References:
    spec = body.get("spec") or {}
    namespace = body["metadata"]["namespace"]
    refs = References()
    for part in ("postgres", "redis", "rabbitmq", "objectStorage"):
        name = ((spec.get(part) or {}).get("secretRef") or {}).get("name")
        if name:
            refs.secrets.add(name)
    gateway = spec.get("gateway") or {}
    if gateway.get("gatewayRef"):
        ref = gateway["gatewayRef"]
        refs.gateway = (ref.get("namespace") or namespace, ref["name"])
    if gateway.get("legacy"):
        refs.services.add(gateway["legacy"]["service"])
    return refs


def runtime(memo: Any) -> Runtime:
    value: Runtime = memo["runtime"]
    return value


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = from_environment()
    # We post our own Events (reconcile.py); kopf's would echo every handler log line.
    settings.posting.enabled = False
    # Only event handlers here: kopf need not copy every body to diff it (essence.py).
    settings.persistence.diffbase_storage = NoDiffBase()
    # Reconnect watches well before any proxy or load balancer silently drops them.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 10
    if config.peering:
        settings.peering.name = config.peering
        settings.peering.mandatory = True
        # A replica killed without a goodbye is replaced once its record expires.
        settings.peering.lifetime = config.peering_lifetime
        settings.peering.clusterwide = not config.namespaces
        # Equal priorities pause everyone: draw one unless the deployment pins it.
        settings.peering.priority = (
            config.priority if config.priority is not None else random.randint(1, 32767)
        )
    else:
        settings.peering.standalone = True
    client = KubeClient.from_environment(settings)
    notifier = Notifier(client)
    notifier.start()
    gate = PeerGate(client, config.peering, settings.peering.priority, settings.peering.clusterwide)

    async def work(key: Key) -> None:
        if not await gate.active(key[0]):
            return  # a peer works; its own watches bring it this platform
        started = time.monotonic()
        outcome = await reconcile(client, *key, instance=config.instance)
        notifier.send(outcome.notifications)
        if outcome.requeue_after is not None:
            # A canary's analysis falls due then; a little late rather than a little early.
            queue.add_after(key, max(1.0, outcome.requeue_after + 0.5))
        if outcome.applied or outcome.pruned or outcome.status_written:
            log.info(
                "reconciled %s/%s in %.2fs: phase=%s applied=%d pruned=%d status_written=%s",
                *key,
                time.monotonic() - started,
                outcome.phase,
                len(outcome.applied),
                len(outcome.pruned),
                outcome.status_written,
                extra={"applied": outcome.applied, "pruned": outcome.pruned},
            )

    queue = ReconcileQueue(work, workers=config.workers, debounce=config.debounce_seconds)
    queue.start()
    state = Runtime(config=config, client=client, queue=queue, notifier=notifier)
    memo["runtime"] = state
    if config.resync_seconds > 0:
        state.resync = asyncio.create_task(resync(state))


async def resync(state: Runtime) -> None:
    """The safety net behind the watches: look at every known platform now and then."""
    while True:
        await asyncio.sleep(state.config.resync_seconds)
        for key in list(state.platforms):
            state.queue.add(key)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    state = runtime(memo)
    if state.resync:
        state.resync.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.resync
    await state.queue.stop()
    await state.notifier.stop()
    await state.client.close()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    # kopf's own minimal logins (no import of the official client: it dominates memory), at the
    # address client-go would use.
    return operator_login.login(os.environ, **kwargs)


@kopf.on.event(GROUP, VERSION, PLURAL)
def platform_event(
    event: kopf.RawEvent, body: kopf.Body, name: str, namespace: str | None, memo: Any, **_: Any
) -> None:
    state = runtime(memo)
    key = (namespace or "", name)
    if event["type"] == "DELETED" or not handled_by(body, state.config.instance):
        state.platforms.pop(key, None)
        state.client.own_status_versions.pop(key, None)
        return
    state.platforms[key] = references_of(body)
    version = body.get("metadata", {}).get("resourceVersion")
    if version and state.client.own_status_versions.get(key) == version:
        return  # the echo of our own status write: nothing changed that we did not write
    state.queue.add(key)


def _owner_event(body: kopf.Body, namespace: str, memo: Any) -> bool:
    """Queue the platform owning this child; False when it is nobody's child."""
    platform = (body.get("metadata", {}).get("labels") or {}).get(PLATFORM_LABEL)
    managed = (body.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/managed-by")
    if platform and managed == MANAGED_BY:
        runtime(memo).queue.add((namespace, platform))
        return True
    return False


def child_event(body: kopf.Body, namespace: str | None, memo: Any, **_: Any) -> None:
    _owner_event(body, namespace or "", memo)


def secret_or_service_event(
    body: kopf.Body, name: str, namespace: str | None, memo: Any, **_: Any
) -> None:
    if _owner_event(body, namespace or "", memo):
        return
    state = runtime(memo)
    kind = body.get("kind")
    for key, refs in list(state.platforms.items()):
        names = refs.secrets if kind == "Secret" else refs.services
        if key[0] == namespace and name in names:
            state.queue.add(key)


# Every child kind is watched (kinds.py): an edit or a deletion is repaired at once, not at the
# next resync. Secrets and Services are watched whole: a user's Secret for an external part, or
# the legacy monolith's Service, may appear after the platform and must unblock it at once.
for _kind in watched(Watch.CHILDREN):
    kopf.on.event(_kind.group, _kind.version, _kind.plural, labels=OURS)(child_event)
for _kind in watched(Watch.CHILDREN_AND_REFERENCES):
    kopf.on.event(_kind.group, _kind.version, _kind.plural)(secret_or_service_event)


@kopf.on.event("gateway.networking.k8s.io", "v1", "gateways")
def gateway_event(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    state = runtime(memo)
    for key, refs in list(state.platforms.items()):
        if refs.gateway == (namespace, name):
            state.queue.add(key)
