"""Users test fixtures: auth's stand-in (messaging_testing.auth: its JWKS on loopback, tokens
signed as auth signs them, its `user.registered` on the real broker) and a users app consuming
those events. Each test gets its own databases,
exchange and queue, so suites running beside ours never see our events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from messaging_kit.migrations import upgrade_head
from messaging_testing.auth import AuthStandIn, auth_stand_in
from messaging_testing.infra import (
    bearer,
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
    wait_for,
)
from users_service.core.config import Settings
from users_service.main import create_app


@dataclass
class Stack:
    auth: AuthStandIn
    users: TestClient
    settings: Settings

    def register(self, username: str | None = None, display_name: str | None = None) -> str:
        """Register with auth's stand-in (it publishes `user.registered`); returns the token."""
        return self.auth.register(username, display_name).token

    def profile(self, token: str, timeout: float = 20.0) -> dict[str, Any]:
        """Wait until user.registered has made the profile, then return it."""

        def fetch() -> dict[str, Any] | None:
            response = self.users.get("/api/v1/users/me", headers=bearer(token))
            return response.json() if response.status_code == 200 else None

        profile: dict[str, Any] = wait_for(fetch, timeout=timeout)
        return profile

    def user(self, username: str | None = None, display_name: str | None = None) -> Any:
        token = self.register(username, display_name)
        return token, self.profile(token)


@pytest.fixture
def stack() -> Iterator[Stack]:
    amqp_url = require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    with fresh_database("users") as users_db:
        upgrade_head("users_service", users_db)
        with auth_stand_in(amqp_url, exchange) as auth:
            settings = Settings(
                database_url=users_db,
                amqp_url=amqp_url,
                jwks_url=auth.jwks_url,
                events_exchange=exchange,
                events_queue=f"test.users.{run_id}",
            )
            with TestClient(create_app(settings)) as users:
                # The stand-in publishes at once (auth goes through its outbox): the queue must
                # be bound before the first registration or its user.registered is lost.
                wait_for(users.app.state.consumer.connected.is_set)
                yield Stack(auth=auth, users=users, settings=settings)
    queue = settings.events_queue
    delete_broker_objects(amqp_url, exchanges=(exchange,), queues=(queue, f"{queue}.dead"))
