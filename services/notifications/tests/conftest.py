"""Notifications test fixtures: a real notifications server (uvicorn on loopback) on a fresh
database, consuming its own exchange on the real broker, mailing the real SMTP sink; tokens
signed by a test issuer whose JWKS is served over real HTTP, as auth's would be."""

from __future__ import annotations

import json
import mailbox
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pika
import pytest
from fastapi import FastAPI
from messaging_kit.events.broker import dead_letter_queue_name
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    HINT,
    LiveServer,
    fresh_database,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from messaging_testing.tokens import TokenIssuer, jwks_server
from notifications_service.core.config import Settings
from notifications_service.main import create_app

SMTP_HOST = os.environ.get("MP_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("MP_SMTP_PORT", "11025"))
MAILDIR = Path(
    os.environ.get("MP_SMTP_MAILDIR", str(Path.home() / ".cache" / "messaging-platform" / "smtp"))
)


@pytest.fixture(scope="session")
def issuer() -> Iterator[tuple[TokenIssuer, str]]:
    issuer = TokenIssuer()
    with jwks_server(issuer) as jwks_url:
        yield issuer, jwks_url


def require_smtp() -> None:
    import socket

    try:
        socket.create_connection((SMTP_HOST, SMTP_PORT), timeout=2).close()
    except OSError as error:
        pytest.fail(f"the SMTP sink at {SMTP_HOST}:{SMTP_PORT} is not answering ({error}); {HINT}")


def event(event_type: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "source": "test",
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
    }


def direct(sender: uuid.UUID, recipient: uuid.UUID) -> dict[str, Any]:
    """A direct message's message.created with the fields messages publishes (recipient_ids
    holds both ends)."""
    data = {
        "message_id": str(uuid.uuid4()),
        "conversation_id": str(uuid.uuid4()),
        "sender_id": str(sender),
        "recipient_id": str(recipient),
        "recipient_ids": sorted([str(sender), str(recipient)]),
    }
    return event("message.created", data)


@dataclass
class Notifications:
    url: str
    settings: Settings
    issuer: TokenIssuer
    app: FastAPI
    sent_to: list[str] = field(default_factory=list)

    def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        return self.issuer.headers(user_id)

    def publish(self, body: dict[str, Any]) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            self.settings.events_exchange, body["type"], json.dumps(body).encode()
        )
        connection.close()

    def address(self) -> str:
        """A fresh recipient address: mail to it is ours alone in the shared sink."""
        address = f"n-{uuid.uuid4().hex[:12]}@example.test"
        self.sent_to.append(address)
        return address

    def set_online(self, user_id: uuid.UUID, online: bool = True) -> None:
        """Write presence the way the websocket service keeps it in Redis."""
        prefix, user = self.settings.redis_key_prefix, str(user_id)
        redis = self.app.state.redis
        if online:
            redis.zadd(f"{prefix}presence:{user}", {"conn-1": time.time() + 60})
        else:
            redis.zrem(f"{prefix}presence:{user}", "conn-1")
        redis.set(f"{prefix}last_seen:{user}", str(time.time()))

    def wait_until_consuming(self) -> None:
        wait_for(self.app.state.emails.connected.is_set)
        wait_for(self.app.state.pushes.connected.is_set)


def mails_to(address: str) -> list[Message]:
    box = mailbox.Maildir(MAILDIR, create=False)
    return [message for _, message in box.iteritems() if message["X-RcptTo"] == address]


def wait_for_mail(address: str, count: int = 1, timeout: float = 30.0) -> list[Message]:
    found: list[Message] = wait_for(
        lambda: len(mails_to(address)) >= count and mails_to(address), timeout
    )
    return found


def remove_mails(addresses: list[str]) -> None:
    box = mailbox.Maildir(MAILDIR, create=False)
    for key, message in list(box.iteritems()):
        if message["X-RcptTo"] in addresses:
            box.remove(key)


def parked(settings: Settings, queue: str, timeout: float = 30.0) -> tuple[Any, bytes]:
    """Wait for one message in queue's dead-letter queue; return (properties, body)."""
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = connection.channel()

    def get() -> tuple[Any, bytes] | None:
        method, properties, body = channel.basic_get(dead_letter_queue_name(queue), auto_ack=True)
        return (properties, body) if method else None

    try:
        found: tuple[Any, bytes] = wait_for(get, timeout)
        return found
    finally:
        connection.close()


def delete_redis_keys(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(f"{settings.redis_key_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def delete_queues(settings: Settings) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = connection.channel()
    for queue in (settings.email_queue, settings.push_queue):
        channel.queue_delete(queue)
        channel.queue_delete(dead_letter_queue_name(queue))
    channel.exchange_delete(settings.events_exchange)
    connection.close()


@pytest.fixture
def make_notifications(
    issuer: tuple[TokenIssuer, str],
) -> Iterator[Callable[..., Notifications]]:
    """Start a notifications server with these setting overrides (cleaned up after)."""
    amqp_url, redis_url = require_rabbitmq(), require_redis()
    require_smtp()
    with ExitStack() as stack:

        def build(**overrides: Any) -> Notifications:
            run_id = uuid.uuid4().hex[:12]
            database_url = stack.enter_context(fresh_database("notifications"))
            upgrade_head("notifications_service", database_url)
            values: dict[str, Any] = {
                "database_url": database_url,
                "amqp_url": amqp_url,
                "redis_url": redis_url,
                "redis_key_prefix": f"test-notifications-{run_id}:",
                "jwks_url": issuer[1],
                "events_exchange": f"test.events.{run_id}",
                "email_queue": f"test.notifications.email.{run_id}",
                "push_queue": f"test.notifications.push.{run_id}",
                "smtp_host": SMTP_HOST,
                "smtp_port": SMTP_PORT,
                "mail_from": "Messaging <no-reply@platform.test>",
                "app_url": "https://chat.example.test",
                "first_backoff_seconds": 0.1,
                "max_backoff_seconds": 0.5,
                "push_allow_http": True,
                "push_allow_private": True,  # the test receiver listens on loopback
                **overrides,
            }
            settings = Settings(**values)
            app = create_app(settings)
            stack.callback(delete_queues, settings)
            stack.callback(delete_redis_keys, settings)
            server = stack.enter_context(LiveServer(app))
            notifications = Notifications(server.url, settings, issuer[0], app)
            stack.callback(remove_mails, notifications.sent_to)
            notifications.wait_until_consuming()
            return notifications

        yield build


@pytest.fixture
def notifications(make_notifications: Callable[..., Notifications]) -> Notifications:
    return make_notifications()


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The module's helpers for tests (a conftest is not importable under importlib mode)."""
    return SimpleNamespace(
        event=event, direct=direct, mails_to=mails_to, wait_for_mail=wait_for_mail, parked=parked
    )
