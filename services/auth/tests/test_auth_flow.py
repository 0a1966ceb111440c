"""The whole auth flow against real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auth_service.models import EVENTS
from fastapi.testclient import TestClient
from messaging_testing.infra import bearer
from sqlalchemy import select

pytestmark = pytest.mark.infra


def test_register_login_me_refresh_logout(client: TestClient, register: Any, events: Any) -> None:
    user = register(client, "alice_flow")
    assert user["user"]["email"] == "alice_flow@example.com"
    me = client.get("/api/v1/auth/me", headers=bearer(user["tokens"]["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice_flow"

    # The address names the account only once verified (auth_service.registration).
    by_email = {"login": "ALICE_FLOW@example.com", "password": user["password"]}
    assert client.post("/api/v1/auth/login", json=by_email).status_code == 401
    [registered] = [
        e for e in events("user.registered") if e["data"]["user_id"] == user["user"]["id"]
    ]
    token = parse_qs(urlsplit(registered["data"]["verification_url"]).query)["token"][0]
    assert client.post("/api/v1/auth/verify-email", json={"token": token}).is_success
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
    # Usernames are public handles: a taken one may say so.
    assert again.status_code == 409
    assert again.json()["type"] == "urn:messaging:problem:username-taken"


def test_a_taken_address_gets_the_answer_a_new_one_gets(
    client: TestClient, register: Any, events: Any
) -> None:
    """The rest (the owner's mail, logins) is tried over HTTP in tests/security."""
    owner = register(client, "dora_owner")
    body = {"email": "DORA_OWNER@example.com", "username": "dora_probe", "password": "long pw 12"}
    probe = client.post("/api/v1/auth/register", json=body)
    fresh = client.post(
        "/api/v1/auth/register",
        json={**body, "email": "dora_fresh@example.com", "username": "dora_fresh"},
    )
    assert probe.status_code == fresh.status_code == 201
    assert probe.json()["user"]["email"] == "dora_owner@example.com"
    assert probe.json()["user"].keys() == fresh.json()["user"].keys()
    assert probe.json()["user"]["email_verified"] is False
    assert probe.headers["location"] == fresh.headers["location"]
    # Only the fresh address is sent a link; the owner is told instead.
    sent = {e["data"]["user_id"]: e["data"] for e in events("user.registered")}
    assert sent[probe.json()["user"]["id"]]["confirmable"] is False
    assert "verification_url" not in sent[probe.json()["user"]["id"]]
    assert "verification_url" in sent[fresh.json()["user"]["id"]]
    [notice] = events("user.registration_attempted")
    assert notice["data"]["user_id"] == owner["user"]["id"]


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
