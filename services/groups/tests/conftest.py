"""Groups test fixtures: auth's stand-in (messaging_testing.auth: tokens signed as auth signs
them, its JWKS) and real groups servers (uvicorn on loopback) on their own database, and a
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
from groups_service.core.config import Settings
from groups_service.main import create_app
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
def stack() -> Iterator[Stack]:
    amqp_url = require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    with fresh_database("groups") as groups_db:
        upgrade_head("groups_service", groups_db)
        with auth_stand_in(amqp_url, exchange) as auth:
            settings = Settings(
                database_url=groups_db,
                amqp_url=amqp_url,
                jwks_url=auth.jwks_url,
                events_exchange=exchange,
                events_queue=f"test.groups.{run_id}",
                max_ciphertext_bytes=1024,
                max_members=6,
            )
            app = create_app(settings)
            try:
                with LiveServer(app) as server:
                    yield Stack(auth=auth, url=server.url, settings=settings, app=app)
            finally:
                queue = settings.events_queue
                delete_broker_objects(
                    amqp_url, exchanges=(exchange,), queues=(queue, f"{queue}.dead")
                )
