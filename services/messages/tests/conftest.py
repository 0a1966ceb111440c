"""Messages test fixtures: real auth (for tokens and JWKS) and real messages servers (uvicorn on
loopback), each with its own database, and a private exchange on the real broker."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_service.core.config import Settings as AuthSettings
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app as create_auth_app
from messages_service.core.config import Settings
from messages_service.main import create_app
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    LiveServer,
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
    require_redis,
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
    auth_url: str
    url: str
    settings: Settings
    app: Any

    def user(self) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            f"{self.auth_url}/api/v1/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": "correct horse"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return User(id=body["user"]["id"], token=body["tokens"]["access_token"])

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
def stack(tmp_path: Path) -> Iterator[Stack]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    with fresh_database("auth") as auth_db, fresh_database("messages") as messages_db:
        upgrade_head("auth_service", auth_db)
        upgrade_head("messages_service", messages_db)
        auth_settings = AuthSettings(
            database_url=auth_db,
            redis_url=redis_url,
            amqp_url=amqp_url,
            signing_keys_dir=str(keys),
            events_exchange=exchange,
            redis_key_prefix=f"test-messages-{run_id}",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        )
        with LiveServer(create_auth_app(auth_settings)) as auth:
            settings = Settings(
                database_url=messages_db,
                amqp_url=amqp_url,
                jwks_url=f"{auth.url}/.well-known/jwks.json",
                events_exchange=exchange,
                events_queue=f"test.messages.{run_id}",
                max_ciphertext_bytes=1024,
                delete_window_seconds=60,
            )
            app = create_app(settings)
            try:
                with LiveServer(app) as server:
                    yield Stack(auth_url=auth.url, url=server.url, settings=settings, app=app)
            finally:
                delete_broker_objects(
                    amqp_url,
                    exchanges=(exchange,),
                    queues=(f"test.messages.{run_id}", f"test.messages.{run_id}.dead"),
                )
