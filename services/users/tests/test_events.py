"""user.registered delivery: at-least-once, idempotent, poison parked, broker outage survived."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pika
import pika.exceptions
import pytest
from messaging_kit.events.broker import dead_letter_queue_name
from messaging_testing.infra import wait_for
from sqlalchemy import func, select
from users_service.models import EVENTS, Profile

pytestmark = pytest.mark.infra
REPO = Path(__file__).resolve().parents[3]


def publish(stack, body: bytes, routing_key: str = "user.registered") -> None:  # type: ignore[no-untyped-def]
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(stack.settings.events_exchange, routing_key, body)
    connection.close()


def event_body(user_id: str, username: str) -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": "user.registered",
            "source": "auth",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "data": {"user_id": user_id, "username": username, "email": f"{username}@x.org"},
        }
    ).encode()


def count_profiles(stack, user_id: str) -> int:  # type: ignore[no-untyped-def]
    with stack.users.app.state.db.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Profile).where(Profile.user_id == uuid.UUID(user_id))
        )


def processed(stack) -> int:  # type: ignore[no-untyped-def]
    with stack.users.app.state.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(EVENTS.processed))


def test_the_same_event_twice_makes_one_profile(stack) -> None:  # type: ignore[no-untyped-def]
    wait_for(stack.users.app.state.consumer.connected.is_set)
    user_id = str(uuid.uuid4())
    body = event_body(user_id, "twice")
    publish(stack, body)
    publish(stack, body)
    # A different event for the same user (auth replaying after a crash) is harmless too.
    publish(stack, event_body(user_id, "twice"))
    # One consumer thread handles the queue in order: once a later sentinel is in, all are.
    sentinel = str(uuid.uuid4())
    publish(stack, event_body(sentinel, "sentinel"))
    wait_for(lambda: count_profiles(stack, sentinel) == 1)
    assert count_profiles(stack, user_id) == 1
    assert processed(stack) == 3  # two distinct event ids for the user, one for the sentinel


def test_poison_messages_are_dead_lettered_with_a_reason(stack) -> None:  # type: ignore[no-untyped-def]
    wait_for(stack.users.app.state.consumer.connected.is_set)
    publish(stack, b"{not json")
    queue = dead_letter_queue_name(stack.settings.events_queue)
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()

    def parked():  # type: ignore[no-untyped-def]
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        return (properties, body) if method else None

    properties, body = wait_for(parked)
    connection.close()
    assert body == b"{not json"
    assert properties.headers["x-dead-reason"].startswith("poison message: body is not JSON")
    # The consumer is still alive and keeps working afterwards.
    _, profile = stack.user()
    assert profile["username"]


def infra(action: str) -> None:
    subprocess.run(
        [str(REPO / "hack" / "infra.sh"), action, "rabbitmq"],
        check=True,
        timeout=180,
        capture_output=True,
    )


def test_an_event_survives_a_broker_stop(stack) -> None:  # type: ignore[no-untyped-def]
    """Stop our RabbitMQ under a consuming users and start it again: the next user.registered
    (auth's outbox holds its events through the outage: the kit's outbox tests) reaches users'
    durable queue and the consumer, reconnected, makes the profile."""
    wait_for(stack.users.app.state.consumer.connected.is_set)
    infra("down")
    infra("up")  # restart at once: other suites share this broker

    def register() -> str | None:
        try:
            return str(stack.register("through_the_outage"))
        except pika.exceptions.AMQPError:
            return None  # the broker is still starting

    token = wait_for(register, timeout=60, interval=1.0)
    profile = stack.profile(token, timeout=90)
    assert profile["username"] == "through_the_outage"
