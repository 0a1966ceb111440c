"""Rollout notifications: every walk Event (a step, a promotion, a rollback, a freeze, a gate
that waits for a person) posted to the webhooks in `spec.rollout.notifications`.

Two shapes: `json` (the event with its platform and service) and `slack` (`{"text": ...}`, what
Slack-compatible incoming webhooks take). With a `secretRef`, the body is signed with
HMAC-SHA256 of that Secret key: `X-Messaging-Signature: sha256=<hex>`; `X-Messaging-Delivery`
is the same on every attempt of one notification, so a receiver can drop a repeated one.

Delivery never blocks a walk: reconcile only builds the notifications (pure, below); the
Notifier sends them from its own task, each with up to four attempts (1, 2, 4 s apart), and
logs what it had to give up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from messaging_operator.kube import KubeClient

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_BACKOFF = 1.0
TIMEOUT_SECONDS = 5.0
QUEUE_LIMIT = 1000  # beyond it the oldest are dropped (logged): a dead webhook must not grow us


@dataclass(frozen=True)
class Notification:
    url: str
    body: bytes
    reason: str
    namespace: str
    secret: tuple[str, str] | None = None  # (Secret name, key) in the platform's namespace
    delivery: str = field(default_factory=lambda: uuid.uuid4().hex)


def webhooks(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(((spec.get("rollout") or {}).get("notifications")) or [])


def payload(
    body: Mapping[str, Any],
    service: str,
    kind: str,
    reason: str,
    message: str,
    time: str,
    shape: str,
) -> bytes:
    meta = body["metadata"]
    if shape == "slack":
        emoji = ":warning:" if kind == "Warning" else ":arrow_forward:"
        text = f"{emoji} *{meta['namespace']}/{meta['name']}* {reason}: {message}"
        return json.dumps({"text": text}).encode()
    event = {
        "platform": {"namespace": meta["namespace"], "name": meta["name"]},
        "service": service,
        "type": kind,
        "reason": reason,
        "message": message,
        "time": time,
    }
    return json.dumps(event, sort_keys=True).encode()


def notifications_for(
    body: Mapping[str, Any], service: str, kind: str, reason: str, message: str, time: str
) -> list[Notification]:
    """One notification per webhook for one walk Event."""
    found = []
    for hook in webhooks(body.get("spec") or {}):
        ref = hook.get("secretRef")
        found.append(
            Notification(
                url=str(hook["url"]),
                body=payload(
                    body, service, kind, reason, message, time, hook.get("format", "json")
                ),
                reason=reason,
                namespace=body["metadata"]["namespace"],
                secret=(ref["name"], ref.get("key", "secret")) if ref else None,
            )
        )
    return found


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Notifier:
    """Sends queued notifications from one background task."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[Notification] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.deliveries: set[asyncio.Task[None]] = set()  # referenced until done
        self.slots = asyncio.Semaphore(8)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in [self.task, *self.deliveries]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.session is not None:
            await self.session.close()

    def send(self, notifications: list[Notification]) -> None:
        for item in notifications:
            if self.queue.qsize() >= QUEUE_LIMIT:
                dropped = self.queue.get_nowait()
                log.warning(
                    "notification queue full: dropped %s to %s", dropped.reason, dropped.url
                )
            self.queue.put_nowait(item)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        self.session = aiohttp.ClientSession(timeout=timeout)
        while True:
            item = await self.queue.get()
            await self.slots.acquire()  # at most 8 deliveries (with their retries) at once
            task = asyncio.create_task(self._deliver(item))
            self.deliveries.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.deliveries.discard(task)
        self.slots.release()

    async def _headers(self, item: Notification) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "messaging-operator",
            "X-Messaging-Event": item.reason,
            "X-Messaging-Delivery": item.delivery,
        }
        if item.secret is not None:
            name, key = item.secret
            secret = await self.client.get("Secret", item.namespace, name)
            data = ((secret or {}).get("data") or {}).get(key)
            if data is None:
                raise LookupError(f"Secret {item.namespace}/{name} has no key {key!r}")
            headers["X-Messaging-Signature"] = signature(base64.b64decode(data), item.body)
        return headers

    async def _deliver(self, item: Notification) -> None:
        assert self.session is not None
        error = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(FIRST_BACKOFF * 2 ** (attempt - 1))
            try:
                headers = await self._headers(item)
                async with self.session.post(item.url, data=item.body, headers=headers) as answer:
                    if answer.status < 300:
                        return
                    error = f"HTTP {answer.status}"
            except (aiohttp.ClientError, TimeoutError, LookupError, OSError) as failure:
                error = f"{type(failure).__name__}: {failure}"
        log.warning(
            "gave up on the %s notification to %s after %d attempts: %s",
            item.reason,
            item.url,
            ATTEMPTS,
            error,
        )
