"""Email verification against real PostgreSQL, Redis and RabbitMQ: the link travels in
`user.registered`, works once, expires, and a resend replaces it (throttled)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auth_service.core.security import hash_opaque_token
from auth_service.models import EmailVerification
from fastapi.testclient import TestClient
from messaging_testing.infra import bearer
from sqlalchemy import create_engine, update

pytestmark = pytest.mark.infra


def link_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def registered_link(events: Any, user_id: str) -> str:
    [event] = [e for e in events("user.registered") if e["data"]["user_id"] == user_id]
    url: str = event["data"]["verification_url"]
    return url


def me(client: TestClient, user: dict[str, Any]) -> dict[str, Any]:
    response = client.get("/api/v1/auth/me", headers=bearer(user["tokens"]["access_token"]))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_registration_link_verifies_once(
    client: TestClient, register: Any, events: Any
) -> None:
    user = register(client)
    assert user["user"]["email_verified"] is False
    url = registered_link(events, user["user"]["id"])
    assert url.startswith("http://127.0.0.1:8080/verify-email?token=")
    [event] = [e for e in events("user.registered") if e["data"]["user_id"] == user["user"]["id"]]
    assert event["data"]["verification_expires_at"]
    assert me(client, user)["email_verified"] is False

    response = client.post("/api/v1/auth/verify-email", json={"token": link_token(url)})
    assert response.status_code == 200, response.text
    assert response.json()["email_verified"] is True
    assert me(client, user)["email_verified"] is True
    # The same link clicked again says so kindly; a made-up token is refused.
    assert client.post("/api/v1/auth/verify-email", json={"token": link_token(url)}).is_success
    bad = client.post("/api/v1/auth/verify-email", json={"token": "not-a-token"})
    assert bad.status_code == 404
    assert bad.json()["type"] == "urn:messaging:problem:invalid-verification-token"
    again = client.post(
        "/api/v1/auth/verify-email/resend", headers=bearer(user["tokens"]["access_token"])
    )
    assert again.status_code == 409
    assert again.json()["type"] == "urn:messaging:problem:already-verified"


def test_only_the_hash_is_stored_and_an_expired_link_is_refused(
    client: TestClient, register: Any, events: Any, database_url: str
) -> None:
    user = register(client)
    token = link_token(registered_link(events, user["user"]["id"]))
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as connection:
        changed = connection.execute(
            update(EmailVerification)
            .where(EmailVerification.token_hash == hash_opaque_token(token))
            .values(expires_at=EmailVerification.created_at)
        ).rowcount
    engine.dispose()
    assert changed == 1  # found by its hash: the token itself is not stored
    response = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 410
    assert response.json()["type"] == "urn:messaging:problem:verification-token-expired"
    assert me(client, user)["email_verified"] is False


def test_a_resend_replaces_the_link_and_is_throttled(
    make_settings: Any, register: Any, events: Any
) -> None:
    from auth_service.main import create_app

    with TestClient(create_app(make_settings(verification_resend_max=2))) as client:
        user = register(client)
        first = link_token(registered_link(events, user["user"]["id"]))
        headers = bearer(user["tokens"]["access_token"])
        for _ in range(2):
            sent = client.post("/api/v1/auth/verify-email/resend", headers=headers)
            assert sent.status_code == 202, sent.text
        throttled = client.post("/api/v1/auth/verify-email/resend", headers=headers)
        assert throttled.status_code == 429
        assert throttled.json()["type"] == "urn:messaging:problem:verification-resend-throttled"
        assert int(throttled.headers["Retry-After"]) > 0

        requested = [
            e
            for e in events("user.verification_requested")
            if e["data"]["user_id"] == user["user"]["id"]
        ]
        assert len(requested) == 2
        assert requested[-1]["data"]["email"] == user["user"]["email"]
        old = client.post("/api/v1/auth/verify-email", json={"token": first})
        assert old.status_code == 410
        assert old.json()["type"] == "urn:messaging:problem:verification-token-used"
        newest = link_token(requested[-1]["data"]["verification_url"])
        assert client.post("/api/v1/auth/verify-email", json={"token": newest}).is_success
        assert me(client, user)["email_verified"] is True
