"""argon2id rehash on login, legacy bcrypt upgrade, and Redis login throttling."""

from __future__ import annotations

from typing import Any

import bcrypt
import pytest
from auth_service.main import create_app
from auth_service.models import User
from fastapi.testclient import TestClient
from sqlalchemy import select

pytestmark = pytest.mark.infra


def stored_hash(client: TestClient, username: str) -> str:
    with client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        return session.scalars(select(User.password_hash).where(User.username == username)).one()


def login(client: TestClient, login: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


def test_login_rehashes_when_argon2_parameters_change(make_settings: Any, register: Any) -> None:
    with TestClient(create_app(make_settings())) as weak:
        user = register(weak, "rehash_me")
        assert "$argon2id$v=19$m=1024,t=1,p=1$" in stored_hash(weak, "rehash_me")
    stronger = make_settings(argon2_time_cost=2, argon2_memory_kib=2048)
    with TestClient(create_app(stronger)) as strong:
        assert login(strong, "rehash_me", user["password"]).status_code == 200
        assert "$argon2id$v=19$m=2048,t=2,p=1$" in stored_hash(strong, "rehash_me")


def test_a_legacy_bcrypt_hash_is_upgraded_on_login(client: TestClient, register: Any) -> None:
    register(client, "legacy_user")
    legacy = bcrypt.hashpw(b"the old password", bcrypt.gensalt(rounds=4)).decode()
    with client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        session.execute(
            User.__table__.update().where(User.username == "legacy_user"),
            {"password_hash": legacy},
        )
        session.commit()
    assert login(client, "legacy_user", "wrong password").status_code == 401
    assert login(client, "legacy_user", "the old password").status_code == 200
    assert stored_hash(client, "legacy_user").startswith("$argon2id$")
    assert login(client, "legacy_user", "the old password").status_code == 200


def test_failed_logins_are_throttled_per_account(make_settings: Any, register: Any) -> None:
    settings = make_settings(login_max_failures_per_account=3, login_throttle_window_seconds=60)
    with TestClient(create_app(settings)) as client:
        user = register(client, "throttled")
        for _ in range(3):
            assert login(client, "throttled", "guess guess").status_code == 401
        blocked = login(client, "THROTTLED", user["password"])
        assert blocked.status_code == 429
        assert blocked.json()["type"] == "urn:messaging:problem:login-throttled"
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        # Another account from the same address is not locked out by someone else's guesses.
        other = register(client, "bystander")
        assert login(client, "bystander", other["password"]).status_code == 200


def test_failed_logins_are_throttled_per_address(make_settings: Any, register: Any) -> None:
    settings = make_settings(login_max_failures_per_address=4, login_throttle_window_seconds=60)
    with TestClient(create_app(settings)) as client:
        user = register(client, "spray_target")
        for name in ("nobody1", "nobody2", "nobody3", "nobody4"):
            assert login(client, name, "password123").status_code == 401
        response = login(client, "spray_target", user["password"])
        assert response.status_code == 429
        assert "Retry-After" in response.headers


def test_a_successful_login_clears_the_account_counter(make_settings: Any, register: Any) -> None:
    settings = make_settings(login_max_failures_per_account=3)
    with TestClient(create_app(settings)) as client:
        user = register(client, "forgetful")
        for _ in range(2):
            login(client, "forgetful", "nope nope")
        assert login(client, "forgetful", user["password"]).status_code == 200
        for _ in range(2):
            login(client, "forgetful", "nope nope")
        assert login(client, "forgetful", user["password"]).status_code == 200
