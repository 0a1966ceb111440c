"""Profiles made from user.registered, own profile, JWKS-verified access."""

from __future__ import annotations

import pytest
from messaging_testing.infra import bearer

pytestmark = pytest.mark.infra


def test_registering_in_auth_creates_the_profile(stack) -> None:  # type: ignore[no-untyped-def]
    _, profile = stack.user("dora", "Dora Explorer")
    assert profile["username"] == "dora"
    assert profile["display_name"] == "Dora Explorer"
    assert profile["email"] == "dora@example.com"


def test_update_own_profile(stack) -> None:  # type: ignore[no-untyped-def]
    token, _ = stack.user()
    response = stack.users.patch(
        "/api/v1/users/me",
        headers=bearer(token),
        json={
            "display_name": "New Name",
            "status_text": "busy",
            "public_key": "-----BEGIN PUBLIC KEY-----x",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "New Name"
    again = stack.users.get("/api/v1/users/me", headers=bearer(token)).json()
    assert again["status_text"] == "busy"
    bad = stack.users.patch("/api/v1/users/me", headers=bearer(token), json={"email": "x@y.z"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.email"


def test_an_avatar_is_refused_when_media_is_unknown(stack) -> None:  # type: ignore[no-untyped-def]
    """Without MEDIA_URL no avatar is taken unchecked (tests/security checks a real media)."""
    token, _ = stack.user()
    response = stack.users.patch(
        "/api/v1/users/me",
        headers=bearer(token),
        json={"avatar_media_id": "0b7f4c1e-8d1a-4f43-9c4e-0a9b7e2f1d11"},
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:messaging:problem:avatars-not-accepted"
    cleared = stack.users.patch(
        "/api/v1/users/me", headers=bearer(token), json={"avatar_media_id": None}
    )
    assert cleared.status_code == 200, cleared.text


def test_tokens_are_checked_against_auths_jwks(stack) -> None:  # type: ignore[no-untyped-def]
    token, _ = stack.user()
    assert stack.users.get("/api/v1/users/me").status_code == 401
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = stack.users.get("/api/v1/users/me", headers=bearer(tampered))
    assert response.status_code == 401
    assert response.json()["type"] == "urn:messaging:problem:invalid-token"


def test_ready_checks_database_and_broker(stack) -> None:  # type: ignore[no-untyped-def]
    response = stack.users.get("/ready")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker"}
