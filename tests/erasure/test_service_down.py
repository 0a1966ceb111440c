"""Erasure across services: one service's consumer is down while auth publishes user.deleted;
the others confirm at once, the event waits in the down service's durable queue (read in
RabbitMQ), and when that service starts again it erases and confirms too."""

from __future__ import annotations

import uuid

import pika
import pytest
from fastapi.testclient import TestClient
from messages_service.core.config import Settings as MessagesSettings
from messages_service.main import create_app as create_messages_app
from messages_service.models import Message
from messaging_kit.db import Database
from messaging_kit.migrations import upgrade_head
from messaging_testing.erasure import erasure_rig, leftovers
from messaging_testing.infra import (
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
    wait_for,
)
from users_service.core.config import Settings as UsersSettings
from users_service.main import create_app as create_users_app
from users_service.models import Profile

pytestmark = pytest.mark.infra
PEERS_COPY = frozenset({("messages", "recipient_id"), ("conversation_entries", "peer_id")})


def waiting_in(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


def test_a_service_down_during_the_deletion_erases_when_it_comes_back() -> None:
    amqp_url = require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    users_queue, messages_queue = f"test.users.{run_id}", f"test.messages.{run_id}"
    a, b = uuid.uuid4(), uuid.uuid4()
    with (
        fresh_database("users") as users_db,
        fresh_database("messages") as messages_db,
        erasure_rig(amqp_url) as rig,
    ):
        upgrade_head("users_service", users_db)
        upgrade_head("messages_service", messages_db)
        common = {"amqp_url": amqp_url, "jwks_url": "http://127.0.0.1:9/jwks.json"}
        users = UsersSettings(
            database_url=users_db,
            events_exchange=rig.exchange,
            events_queue=users_queue,
            **common,
        )
        messages = MessagesSettings(
            database_url=messages_db,
            events_exchange=rig.exchange,
            events_queue=messages_queue,
            **common,
        )
        try:
            # messages ran once (its queue exists, as in any installed platform), then stops.
            with TestClient(create_messages_app(messages)) as running:
                wait_for(running.app.state.consumer.connected.is_set)  # type: ignore[attr-defined]
            db = Database(messages_db)
            with db.sessions() as session, session.begin():
                session.add(
                    Message(
                        id=uuid.uuid4(),
                        conversation_id=uuid.uuid4(),
                        sender_id=a,
                        recipient_id=b,
                        idempotency_key="k",
                        content_hash="0" * 64,
                        ciphertext=b"x",
                        nonce=b"n",
                        keys={},
                    )
                )
            db.close()

            with TestClient(create_users_app(users)) as users_app:
                wait_for(users_app.app.state.consumer.connected.is_set)  # type: ignore[attr-defined]
                with users_app.app.state.db.sessions() as session, session.begin():  # type: ignore[attr-defined]
                    session.add(Profile(user_id=a, username="gone", display_name="gone"))
                erasure_id = rig.delete_user(str(a))
                rig.confirmed(erasure_id, "users")
                assert leftovers(users_db, str(a)) == {}

            assert waiting_in(amqp_url, messages_queue) == 1  # kept for the absent consumer
            assert leftovers(messages_db, str(a), allowed=PEERS_COPY)  # not erased yet

            with TestClient(create_messages_app(messages)):
                confirmations = rig.confirmed(erasure_id, "messages")
            assert confirmations == [
                {"user_id": str(a), "erasure_id": erasure_id, "service": "messages"}
            ]
            assert leftovers(messages_db, str(a), allowed=PEERS_COPY) == {}
            assert waiting_in(amqp_url, messages_queue) == 0
        finally:
            queues = (users_queue, f"{users_queue}.dead", messages_queue, f"{messages_queue}.dead")
            delete_broker_objects(amqp_url, queues=queues)
