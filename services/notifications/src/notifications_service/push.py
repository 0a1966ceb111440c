"""Push: signed webhooks to the endpoints users registered, for messages and invitations.

Each (event, target) pair is pushed at most once: a success is recorded in its own
transaction right away, so a redelivered event, or a retry after another target failed,
skips the targets already served. Transient failures (network, 5xx, 408, 429) are retried
with backoff; a target still failing makes the event fail, which the consumer retries and
finally parks in the dead-letter queue with the reason.

Nothing is pushed to an erased user, nor about one (an erased sender's message, an erased
inviter's invitation): the rule of the email handlers (handlers.py), the check held in the
consumer's session across the deliveries.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from messaging_kit.db import Database
from messaging_kit.events import Event
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from notifications_service import crud
from notifications_service.core.config import Settings
from notifications_service.core.signing import EVENT_HEADER, signed_headers
from notifications_service.handlers import MESSAGE_EVENTS, Skip, message_recipients, unerased
from notifications_service.models import PushTarget

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
# What a push says about each event: ids only (messages are end-to-end encrypted anyway).
PUSHED_FIELDS = {
    "message.created": ("message_id", "conversation_id", "sender_id"),
    "group.message.created": ("message_id", "group_id", "sender_id"),
    "invitation.created": ("invitation_id", "inviter_id", "inviter_display_name"),
}


class PushFailed(Exception):  # noqa: N818
    pass


class PushRetryable(PushFailed):
    pass


def push_body(event: Event, user_id: uuid.UUID) -> bytes:
    data = {key: event.data.get(key) for key in PUSHED_FIELDS.get(event.type, ())}
    body = {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "user_id": str(user_id),
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def refuse_private(url: str) -> None:
    """Resolve the target's host and refuse it if any address is not public, so a push URL
    cannot reach into the cluster (checked at each delivery: DNS answers change)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise PushRetryable(f"cannot resolve {host}: {error}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise PushFailed(f"{host} resolves to a non-public address ({address})")


def deliver(
    client: httpx.Client, target: PushTarget, event_id: str, body: bytes, settings: Settings
) -> None:
    def attempt() -> None:
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event_id,
            **signed_headers(target.secret, body),  # a fresh timestamp per attempt
        }
        try:
            response = client.post(target.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise PushRetryable(f"{type(error).__name__}: {error}") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise PushRetryable(f"HTTP {response.status_code}")
        if not response.is_success:
            raise PushFailed(f"HTTP {response.status_code}")

    if not settings.push_allow_private:
        refuse_private(target.url)
    for retrying in Retrying(
        stop=stop_after_attempt(settings.push_attempts),
        wait=wait_exponential(
            multiplier=settings.first_backoff_seconds, max=settings.max_backoff_seconds
        ),
        retry=retry_if_exception_type(PushRetryable),
        reraise=True,
    ):
        with retrying:
            attempt()


def push_handlers(db: Database, settings: Settings, client: httpx.Client) -> dict[str, Handler]:
    def notify(
        session: Session, event: Event, users: list[uuid.UUID], author: object = None
    ) -> None:
        """Push to each user's targets; `author` is the sender or inviter the event is from."""
        event_id = uuid.UUID(event.id)
        failures = []
        for user_id in unerased(session, event, users, author):
            if not crud.wants(session, user_id, "push"):
                continue
            body = push_body(event, user_id)
            for target in crud.push_targets(session, user_id):
                if crud.delivered(session, event_id, target.id):
                    continue
                try:
                    deliver(client, target, event.id, body, settings)
                except PushFailed as error:
                    failures.append(f"target {target.id}: {error}")
                    continue
                with db.sessions() as own, own.begin():
                    crud.record_delivery(own, event_id, target.id)
                log.info("pushed", extra={"event_id": event.id, "target_id": str(target.id)})
        if failures:
            raise PushFailed("; ".join(failures))

    def message_created(session: Session, event: Event) -> None:
        notify(session, event, message_recipients(event.data), event.data.get("sender_id"))

    def invitation_created(session: Session, event: Event) -> None:
        invitee = uuid.UUID(str(event.data["invitee_id"]))
        notify(session, event, [invitee], event.data.get("inviter_id"))

    handlers: dict[str, Any] = {
        "message.created": message_created,
        "group.message.created": message_created,
        "invitation.created": invitation_created,
    }
    return handlers


def push_skips(db: Database) -> dict[str, Skip]:
    """Message events the push consumer acks without a transaction: no recipient has a push
    target with push on (notify would send nothing), one read instead of a transaction with a
    processed row, a tombstone lock and three reads per recipient. A target registered just
    after the read misses this message, as it would had the event come a moment earlier."""

    def nobody_to_push(event: Event) -> bool:
        with db.engine.connect() as connection:
            return not crud.anyone_to_push(connection, message_recipients(event.data))

    return dict.fromkeys(MESSAGE_EVENTS, nobody_to_push)
