"""Users test fixtures: a real auth server (uvicorn, loopback) whose JWKS users fetches, and
a users app consuming auth's events from the real broker. Each test gets its own databases,
exchange and queue, so suites running beside ours never see our events."""

from __future__ import annotations

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
from fastapi.testclient import TestClient
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    LiveServer,
    bearer,
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from users_service.core.config import Settings
from users_service.main import create_app


@dataclass
class Stack:
    auth_url: str
    users: TestClient
    settings: Settings

    def register(self, username: str | None = None, display_name: str | None = None) -> str:
        """Register through auth's HTTP API; returns the access token."""
        username = username or f"u{uuid.uuid4().hex[:10]}"
        body: dict[str, Any] = {
            "email": f"{username}@example.com",
            "username": username,
            "password": "correct horse battery",
        }
        if display_name:
            body["display_name"] = display_name
        response = httpx.post(f"{self.auth_url}/api/v1/auth/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        token: str = response.json()["tokens"]["access_token"]
        return token

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
def stack(tmp_path: Path) -> Iterator[Stack]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    with fresh_database("auth") as auth_db, fresh_database("users") as users_db:
        upgrade_head("auth_service", auth_db)
        upgrade_head("users_service", users_db)
        auth_settings = AuthSettings(
            database_url=auth_db,
            redis_url=redis_url,
            amqp_url=amqp_url,
            signing_keys_dir=str(keys),
            events_exchange=exchange,
            redis_key_prefix=f"test-users-{run_id}",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        )
        with LiveServer(create_auth_app(auth_settings)) as auth:
            settings = Settings(
                database_url=users_db,
                amqp_url=amqp_url,
                jwks_url=f"{auth.url}/.well-known/jwks.json",
                events_exchange=exchange,
                events_queue=f"test.users.{run_id}",
            )
            with TestClient(create_app(settings)) as users:
                yield Stack(auth_url=auth.url, users=users, settings=settings)
    queue = settings.events_queue
    delete_broker_objects(amqp_url, exchanges=(exchange,), queues=(queue, f"{queue}.dead"))
