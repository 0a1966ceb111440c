"""Auth test fixtures: a fresh database at head, a key directory, an app wired to real servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_service.admin import set_role
from auth_service.core.config import Settings
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app
from auth_service.models import EVENTS
from fastapi.testclient import TestClient
from messaging_kit.db import Database, normalize_url
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    SERVICE_TOKEN,
    delete_broker_objects,
    free_port,
    fresh_database,
    require_rabbitmq,
    require_redis,
)
from sqlalchemy import create_engine, select

# Cheap argon2 parameters keep the suite fast on 2 cores; production defaults are far higher.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database("auth") as url:
        upgrade_head("auth_service", url)
        yield url


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    directory.mkdir()
    (directory / "2026-01-01.pem").write_bytes(generate_ed25519_pem())
    return directory


@pytest.fixture
def make_settings(database_url: str, keys_dir: Path) -> Iterator[Any]:
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "amqp_url": amqp_url,
            "signing_keys_dir": str(keys_dir),
            # Per-test exchange and key prefix: other suites share the same servers.
            "events_exchange": f"test.events.{run_id}",
            "redis_key_prefix": f"test-auth-{run_id}",
            "events_queue": f"test.auth.{run_id}",
            "internal_token": SERVICE_TOKEN,
            **FAST_ARGON2,
        }
        values.update(overrides)
        return Settings(**values)

    yield build
    delete_broker_objects(
        amqp_url,
        exchanges=(f"test.events.{run_id}",),
        queues=(f"test.auth.{run_id}", f"test.auth.{run_id}.dead"),
    )


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    built: Settings = make_settings()
    return built


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _register(
    client: TestClient,
    username: str | None = None,
    password: str = "correct horse battery",  # noqa: S107
) -> dict[str, Any]:
    username = username or f"user_{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/v1/auth/register",
        json={"email": f"{username}@example.com", "username": username, "password": password},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    body["password"] = password
    return body


@pytest.fixture
def register() -> Any:
    """register(client, username=None, password=...) -> the register response plus password."""
    return _register


def outbox_events(database_url: str, event_type: str) -> list[dict[str, Any]]:
    """The events auth queued of one type, oldest first, read straight from its database."""
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(EVENTS.outbox.c.body)
                .where(EVENTS.outbox.c.event_type == event_type)
                .order_by(EVENTS.outbox.c.created_at)
            ).all()
    finally:
        engine.dispose()
    return [row.body for row in rows]


@pytest.fixture
def events(database_url: str) -> Any:
    """events(type) -> the outbox bodies of that type."""
    return lambda event_type: outbox_events(database_url, event_type)


@pytest.fixture
def make_admin(client: TestClient, database_url: str) -> Any:
    """make_admin(register_response) -> a fresh access token carrying the admin role."""

    def grant(user: dict[str, Any]) -> str:
        db = Database(database_url, pool_size=1, max_overflow=0)
        try:
            with db.sessions() as session:
                assert set_role(session, user["user"]["username"], "admin") is not None
        finally:
            db.close()
        response = client.post(
            "/api/v1/auth/login",
            json={"login": user["user"]["username"], "password": user["password"]},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    return grant


@dataclass
class ServedAuth:
    """`python -m auth_service` (the console script's serve) on a free port, ready."""

    process: subprocess.Popen[str]
    base: str
    env: dict[str, str]


@pytest.fixture
def serve_auth(database_url: str, keys_dir: Path) -> Iterator[Any]:
    """Start auth as its own process with extra settings; waits for /ready. Stopped (and its
    exchange deleted) at the end of the test if the test has not stopped it."""
    started: list[ServedAuth] = []

    def start(**extra: str) -> ServedAuth:
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "REDIS_URL": require_redis(),
            "AMQP_URL": require_rabbitmq(),
            "SIGNING_KEYS_DIR": str(keys_dir),
            "PORT": str(port),
            "EVENTS_EXCHANGE": f"test.serve.{port}",
            **extra,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "auth_service"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        served = ServedAuth(process, f"http://127.0.0.1:{port}", env)
        started.append(served)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{served.base}/ready", timeout=2).status_code == 200:
                    return served
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.1)

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.communicate(timeout=30)
        delete_broker_objects(served.env["AMQP_URL"], exchanges=(served.env["EVENTS_EXCHANGE"],))
