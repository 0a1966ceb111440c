"""Revocation reaches every service: a user suspended in (real) auth has their existing access
token refused by (real) messages and both websocket replicas within a second, through the
kit's revocation list (events on the broker, no call to auth per request)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from auth_service.admin import set_role
from messaging_kit.db import Database
from messaging_testing.infra import bearer, wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.infra


def ws_verdict(url: str, token: str) -> str:
    """ "ready", or the close code the server answered the auth frame with."""
    with connect(url, open_timeout=5) as connection:
        connection.send(json.dumps({"type": "auth", "token": token}))
        try:
            return str(json.loads(connection.recv(timeout=5))["type"])
        except ConnectionClosed as closed:
            return str(closed.rcvd.code if closed.rcvd else "closed")


def close_code_of(connection: Any) -> int | None:
    """Reads frames (presence and the like) until the server closes the socket."""
    try:
        while True:
            connection.recv(timeout=2)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def account(platform: Any, *, admin: bool = False) -> tuple[str, dict[str, str]]:
    """(user id, login body) of a new account; an admin if asked (granted in auth's database)."""
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.com", "username": name, "password": "correct horse"}
    response = httpx.post(f"{platform.auth_url}/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    if admin:
        db = Database(platform.extra["base"]["databases"]["auth"], pool_size=1, max_overflow=0)
        with db.sessions() as session:
            assert set_role(session, name, "admin") is not None
        db.close()
    return response.json()["user"]["id"], {"login": name, "password": body["password"]}


def login(platform: Any, body: dict[str, str]) -> str:
    response = httpx.post(f"{platform.auth_url}/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_a_suspended_users_token_is_refused_by_messages_and_websocket_within_a_second(
    platform: Any,
) -> None:
    for app in platform.extra["apps"]:
        feed = app.state.revocation_feed
        wait_for(lambda feed=feed: feed.connected.is_set() and feed.revocations.loaded.is_set())
    _, admin_login = account(platform, admin=True)
    admin = bearer(login(platform, admin_login))
    victim_id, victim_login = account(platform)
    old_token = login(platform, victim_login)
    conversations = f"{platform.messages_url}/api/v1/conversations"

    def verdicts(token: str) -> list[Any]:
        status = httpx.get(conversations, headers=bearer(token)).status_code
        return [status, *(ws_verdict(url, token) for url in platform.ws_urls)]

    assert verdicts(old_token) == [200, "ready", "ready"]
    # A socket opened before the suspension is closed too, not only new ones refused.
    with connect(platform.ws_urls[0], open_timeout=5) as open_socket:
        open_socket.send(json.dumps({"type": "auth", "token": old_token}))
        assert json.loads(open_socket.recv(timeout=5))["type"] == "ready"
        suspend = f"{platform.auth_url}/api/v1/admin/users/{victim_id}/suspend"
        assert httpx.post(suspend, headers=admin).status_code == 200
        suspended_at = time.monotonic()
        code = close_code_of(open_socket)
    closed_after = time.monotonic() - suspended_at
    assert code == 4001
    print(f"open socket of the suspended user closed after {closed_after:.3f} s")
    assert closed_after < 1.0
    wait_for(lambda: verdicts(old_token) == [401, "4001", "4001"], timeout=5, interval=0.02)
    elapsed = time.monotonic() - suspended_at
    print(f"suspension refused by messages and 2 websocket replicas after {elapsed:.3f} s")
    assert elapsed < 1.0
    refused = httpx.get(conversations, headers=bearer(old_token)).json()
    assert refused["type"] == "urn:messaging:problem:token-revoked"

    # Unsuspended: a new login is accepted everywhere, the old token stays revoked.
    unsuspend = f"{platform.auth_url}/api/v1/admin/users/{victim_id}/unsuspend"
    assert httpx.post(unsuspend, headers=admin).status_code == 200
    new_token = login(platform, victim_login)
    wait_for(lambda: verdicts(new_token) == [200, "ready", "ready"], timeout=5, interval=0.02)
    assert verdicts(old_token) == [401, "4001", "4001"]

    # Force logout: the same, for tokens issued before it.
    logout = f"{platform.auth_url}/api/v1/admin/users/{victim_id}/logout"
    assert httpx.post(logout, headers=admin).status_code == 200
    logged_out_at = time.monotonic()
    wait_for(lambda: verdicts(new_token) == [401, "4001", "4001"], timeout=5, interval=0.02)
    elapsed = time.monotonic() - logged_out_at
    print(f"force logout refused by messages and 2 websocket replicas after {elapsed:.3f} s")
    assert elapsed < 1.0
    assert verdicts(login(platform, victim_login)) == [200, "ready", "ready"]


def session_of(platform: Any, body: dict[str, str]) -> dict[str, str]:
    response = httpx.post(f"{platform.auth_url}/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def test_logout_password_change_and_logout_everywhere_end_access_tokens_within_a_second(
    platform: Any,
) -> None:
    """Not only refresh tokens: the access tokens of an ended login are refused by auth,
    messages and both websocket replicas, and an open socket of that login is closed."""
    for app in platform.extra["apps"]:
        feed = app.state.revocation_feed
        wait_for(lambda feed=feed: feed.connected.is_set() and feed.revocations.loaded.is_set())
    _, body = account(platform)
    conversations = f"{platform.messages_url}/api/v1/conversations"
    me = f"{platform.auth_url}/api/v1/auth/me"

    def verdicts(token: str) -> list[Any]:
        return [
            httpx.get(me, headers=bearer(token)).status_code,
            httpx.get(conversations, headers=bearer(token)).status_code,
            *(ws_verdict(url, token) for url in platform.ws_urls),
        ]

    def ended_within_a_second(token: str, end: Any, what: str) -> None:
        assert verdicts(token) == [200, 200, "ready", "ready"]
        with connect(platform.ws_urls[1], open_timeout=5) as open_socket:
            open_socket.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(open_socket.recv(timeout=5))["type"] == "ready"
            end()
            ended_at = time.monotonic()
            code = close_code_of(open_socket)
        assert code == 4001, what
        assert time.monotonic() - ended_at < 1.0, what
        wait_for(lambda: verdicts(token) == [401] * 2 + ["4001"] * 2, timeout=5, interval=0.02)
        elapsed = time.monotonic() - ended_at
        print(f"{what}: access token refused everywhere after {elapsed:.3f} s")
        assert elapsed < 1.0, what

    # Logout ends that login only: another login of the same account keeps working.
    phone, laptop = session_of(platform, body), session_of(platform, body)
    logout = f"{platform.auth_url}/api/v1/auth/logout"
    ended_within_a_second(
        phone["access_token"],
        lambda: httpx.post(logout, json={"refresh_token": phone["refresh_token"]}),
        "logout",
    )
    assert verdicts(laptop["access_token"]) == [200, 200, "ready", "ready"]
    refused = httpx.get(conversations, headers=bearer(phone["access_token"])).json()
    assert refused["type"] == "urn:messaging:problem:token-revoked"

    # "Log out everywhere" ends every login, the caller's included.
    everywhere = f"{platform.auth_url}/api/v1/auth/logout/everywhere"
    other = session_of(platform, body)
    ended_within_a_second(
        laptop["access_token"],
        lambda: httpx.post(everywhere, headers=bearer(other["access_token"])),
        "logout everywhere",
    )
    assert verdicts(other["access_token"])[:2] == [401, 401]

    # A password change ends every login too; the new password logs in at once.
    current = session_of(platform, body)
    password = f"{platform.auth_url}/api/v1/auth/password"
    new_password = {"current_password": body["password"], "new_password": "battery staple!"}
    ended_within_a_second(
        current["access_token"],
        lambda: httpx.post(password, json=new_password, headers=bearer(current["access_token"])),
        "password change",
    )
    fresh = session_of(platform, {"login": body["login"], "password": "battery staple!"})
    assert verdicts(fresh["access_token"]) == [200, 200, "ready", "ready"]
