"""Messages test fixtures: auth's stand-in (messaging_testing.auth: tokens signed as auth signs
them, its JWKS) and real messages servers (uvicorn on loopback) on their own database, and a
private exchange on the real broker."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from messages_service.core.config import Settings
from messages_service.main import create_app
from messaging_kit.migrations import upgrade_head
from messaging_testing.auth import AuthStandIn, auth_stand_in
from messaging_testing.infra import (
    LiveServer,
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
)


@dataclass
class User:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Stack:
    auth: AuthStandIn
    url: str
    settings: Settings
    app: Any

    def user(self) -> User:
        registered = self.auth.register()
        return User(id=registered.id, token=registered.token)

    def body(self, sender: User, recipient: User, key: str | None = None) -> dict[str, Any]:
        return message_body(sender, recipient, key)

    def send(self, sender: User, recipient: User, key: str | None = None, **extra: Any) -> Any:
        body = message_body(sender, recipient, key)
        body.update(extra)
        return httpx.post(f"{self.url}/api/v1/messages", json=body, headers=sender.headers)


def message_body(sender: User, recipient: User, key: str | None = None) -> dict[str, Any]:
    plaintext_stand_in = os.urandom(48)
    return {
        "recipient_id": recipient.id,
        "idempotency_key": key or uuid.uuid4().hex,
        "ciphertext": base64.b64encode(plaintext_stand_in).decode(),
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "keys": {
            recipient.id: base64.b64encode(b"wrapped-for-recipient").decode(),
            sender.id: base64.b64encode(b"wrapped-for-sender").decode(),
        },
    }


@pytest.fixture
def stack() -> Iterator[Stack]:
    amqp_url = require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    with fresh_database("messages") as messages_db:
        upgrade_head("messages_service", messages_db)
        with auth_stand_in(amqp_url, exchange) as auth:
            settings = Settings(
                database_url=messages_db,
                amqp_url=amqp_url,
                jwks_url=auth.jwks_url,
                events_exchange=exchange,
                events_queue=f"test.messages.{run_id}",
                max_ciphertext_bytes=1024,
                delete_window_seconds=60,
            )
            app = create_app(settings)
            try:
                with LiveServer(app) as server:
                    yield Stack(auth=auth, url=server.url, settings=settings, app=app)
            finally:
                delete_broker_objects(
                    amqp_url,
                    exchanges=(exchange,),
                    queues=(f"test.messages.{run_id}", f"test.messages.{run_id}.dead"),
                )
