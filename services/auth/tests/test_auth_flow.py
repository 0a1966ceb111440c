"""The whole auth flow against real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

from typing import Any

import pytest
from auth_service.models import EVENTS
from fastapi.testclient import TestClient
from messaging_kit.testing import bearer
from sqlalchemy import select

pytestmark = pytest.mark.infra


def test_register_login_me_refresh_logout(client: TestClient, register: Any) -> None:
    user = register(client, "alice_flow")
    assert user["user"]["email"] == "alice_flow@example.com"
    me = client.get("/api/v1/auth/me", headers=bearer(user["tokens"]["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice_flow"

    for login in ("alice_flow", "ALICE_FLOW@example.com"):
        response = client.post(
            "/api/v1/auth/login", json={"login": login, "password": user["password"]}
        )
        assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new_tokens = rotated.json()
    assert new_tokens["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(new_tokens["access_token"])).is_success

    logout = client.post("/api/v1/auth/logout", json={"refresh_token": new_tokens["refresh_token"]})
    assert logout.status_code == 204
    after = client.post("/api/v1/auth/refresh", json={"refresh_token": new_tokens["refresh_token"]})
    assert after.status_code == 401


def test_reusing_a_rotated_refresh_token_revokes_the_family(
    client: TestClient, register: Any
) -> None:
    user = register(client)
    first = user["tokens"]["refresh_token"]
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first}).json()
    # An attacker replays the spent token: refused, and the thief's victim loses the session too.
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert replay.json()["type"] == "urn:messaging:problem:refresh-token-reused"
    revoked = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert revoked.status_code == 401
    # Other sessions (another login) are untouched.
    other = client.post(
        "/api/v1/auth/login", json={"login": user["user"]["username"], "password": user["password"]}
    ).json()
    assert client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    ).is_success


def test_change_password_revokes_refresh_tokens(client: TestClient, register: Any) -> None:
    user = register(client)
    access, refresh = user["tokens"]["access_token"], user["tokens"]["refresh_token"]
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": "another long one"},
        headers=bearer(access),
    )
    assert wrong.status_code == 403
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": user["password"], "new_password": "another long one"},
        headers=bearer(access),
    )
    assert changed.status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    name = user["user"]["username"]
    old = client.post("/api/v1/auth/login", json={"login": name, "password": user["password"]})
    assert old.status_code == 401
    new = client.post("/api/v1/auth/login", json={"login": name, "password": "another long one"})
    assert new.status_code == 200


def test_duplicate_registration_is_a_conflict(client: TestClient, register: Any) -> None:
    register(client, "bob_dup")
    again = client.post(
        "/api/v1/auth/register",
        json={"email": "other@example.com", "username": "BOB_DUP", "password": "long enough pw"},
    )
    assert again.status_code == 409
    assert again.json()["type"] == "urn:messaging:problem:already-registered"


def test_bad_input_names_the_field(client: TestClient, register: Any) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "username": "ok_name", "password": "short"},
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"body.email", "body.password"}


def test_registration_writes_user_registered_to_the_outbox(
    client: TestClient, register: Any
) -> None:
    user = register(client, "carol_outbox")
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.sessions() as session:
        rows = session.execute(select(EVENTS.outbox.c.event_type, EVENTS.outbox.c.body)).all()
    assert [row.event_type for row in rows] == ["user.registered"]
    assert rows[0].body["data"]["user_id"] == user["user"]["id"]
    assert rows[0].body["data"]["username"] == "carol_outbox"


def test_ready_checks_database_redis_and_broker(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"]) == {"database", "redis", "broker"}
