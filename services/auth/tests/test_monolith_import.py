"""`messaging-auth migrate-from-monolith`: credentials carried over, upgraded at next login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bcrypt
import pytest
from auth_service.main import create_app
from auth_service.monolith import import_credentials
from fastapi.testclient import TestClient
from messaging_testing.infra import fill_legacy_users, fresh_database
from sqlalchemy import text

pytestmark = pytest.mark.infra
LEGACY_USERS = 10_000


@pytest.fixture
def legacy_url() -> Iterator[str]:
    with fresh_database("legacy") as url:
        hashed = bcrypt.hashpw(b"legacy password", bcrypt.gensalt(rounds=4)).decode()
        fill_legacy_users(url, LEGACY_USERS, hashed)
        yield url


def test_credentials_import_resumes_and_passwords_upgrade(legacy_url: str, settings: Any) -> None:
    partial = import_credentials(legacy_url, settings.database_url, stop_after_batches=2)
    assert (partial.read, partial.completed) == (2000, False)
    rest = import_credentials(legacy_url, settings.database_url)
    assert rest.resumed
    assert rest.completed
    assert (rest.read, rest.inserted) == (LEGACY_USERS - 2000, LEGACY_USERS - 2000)
    again = import_credentials(legacy_url, settings.database_url)
    assert (again.read, again.inserted) == (LEGACY_USERS, 0)

    with TestClient(create_app(settings)) as client:
        with client.app.state.db.engine.connect() as connection:  # type: ignore[attr-defined]
            assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 10_000
        response = client.post(
            "/api/v1/auth/login",
            json={"login": "legacy7@example.com", "password": "legacy password"},
        )
        assert response.status_code == 200, response.text
        with client.app.state.db.engine.connect() as connection:  # type: ignore[attr-defined]
            stored = connection.execute(
                text("SELECT password_hash FROM users WHERE username = 'legacy7'")
            ).scalar_one()
        assert stored.startswith("$argon2id$")
