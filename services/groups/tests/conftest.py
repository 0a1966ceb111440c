"""Groups test fixtures: real auth (for tokens and JWKS) and real groups servers (uvicorn on
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
from groups_service.core.config import Settings
from groups_service.main import create_app
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

    def create(self, owner: User, members: list[User], name: str = "team") -> Any:
        response = httpx.post(
            f"{self.url}/api/v1/groups",
            json={"name": name, "member_ids": [m.id for m in members]},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def post(self, sender: User, group_id: str, key: str | None = None, **extra: Any) -> Any:
        body = {
            "idempotency_key": key or uuid.uuid4().hex,
            "ciphertext": base64.b64encode(os.urandom(40)).decode(),
            "nonce": base64.b64encode(os.urandom(12)).decode(),
            **extra,
        }
        return httpx.post(
            f"{self.url}/api/v1/groups/{group_id}/messages", json=body, headers=sender.headers
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    with fresh_database("auth") as auth_db, fresh_database("groups") as groups_db:
        upgrade_head("auth_service", auth_db)
        upgrade_head("groups_service", groups_db)
        auth_settings = AuthSettings(
            database_url=auth_db,
            redis_url=redis_url,
            amqp_url=amqp_url,
            signing_keys_dir=str(keys),
            events_exchange=exchange,
            redis_key_prefix=f"test-groups-{run_id}",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        )
        with LiveServer(create_auth_app(auth_settings)) as auth:
            settings = Settings(
                database_url=groups_db,
                amqp_url=amqp_url,
                jwks_url=f"{auth.url}/.well-known/jwks.json",
                events_exchange=exchange,
                events_queue=f"test.groups.{run_id}",
                max_ciphertext_bytes=1024,
                max_members=6,
            )
            app = create_app(settings)
            try:
                with LiveServer(app) as server:
                    yield Stack(auth_url=auth.url, url=server.url, settings=settings, app=app)
            finally:
                queue = settings.events_queue
                delete_broker_objects(
                    amqp_url, exchanges=(exchange,), queues=(queue, f"{queue}.dead")
                )
