"""The admin API against real PostgreSQL, Redis and RabbitMQ: admin role only (every route,
from the OpenAPI schema), suspension and force logout stop tokens, everything audit-logged."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from messaging_testing.infra import SERVICE_TOKEN, bearer

pytestmark = pytest.mark.infra


def admin_operations(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    return [
        (
            method.upper(),
            path.replace("{user_id}", str(uuid.uuid4())).replace("{erasure_id}", str(uuid.uuid4())),
        )
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/admin")
        for method in operations
    ]


def test_a_non_admin_gets_403_on_every_admin_route(client: TestClient, register: Any) -> None:
    operations = admin_operations(client)
    # The schema really lists the admin API (an empty list would prove nothing).
    assert len(operations) >= 10
    assert {path.split("/")[4] for _, path in operations} == {"users", "erasures", "stats", "audit"}
    headers = bearer(register(client)["tokens"]["access_token"])
    for method, path in operations:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"] == "urn:messaging:problem:admin-only"
        assert client.request(method, path).status_code == 401, (method, path)


def test_suspension_and_force_logout_stop_tokens_and_are_audited(
    client: TestClient, register: Any, make_admin: Any, events: Any
) -> None:
    boss = register(client)
    admin = bearer(make_admin(boss))
    victim = register(client)
    victim_id, old_access = victim["user"]["id"], bearer(victim["tokens"]["access_token"])
    login = {"login": victim["user"]["username"], "password": victim["password"]}

    suspended = client.post(f"/api/v1/admin/users/{victim_id}/suspend", headers=admin)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["suspended_at"] is not None
    refused = client.get("/api/v1/auth/me", headers=old_access)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:messaging:problem:token-revoked"
    no_login = client.post("/api/v1/auth/login", json=login)
    assert no_login.status_code == 403
    assert no_login.json()["type"] == "urn:messaging:problem:account-suspended"
    refresh = {"refresh_token": victim["tokens"]["refresh_token"]}
    assert client.post("/api/v1/auth/refresh", json=refresh).status_code == 401
    [event] = [e for e in events("user.suspended") if e["data"]["user_id"] == victim_id]
    assert event["data"]["not_before"] > 0
    snapshot = client.get("/internal/v1/revocations", headers=bearer(SERVICE_TOKEN)).json()
    assert victim_id in snapshot["suspended"]
    assert victim_id in snapshot["not_before"]

    assert client.post(f"/api/v1/admin/users/{victim_id}/unsuspend", headers=admin).is_success
    snapshot = client.get("/internal/v1/revocations", headers=bearer(SERVICE_TOKEN)).json()
    assert victim_id not in snapshot["suspended"]
    assert [e["data"] for e in events("user.unsuspended")] == [{"user_id": victim_id}]
    # Tokens from before the suspension stay dead; a new login works.
    assert client.get("/api/v1/auth/me", headers=old_access).status_code == 401
    fresh = client.post("/api/v1/auth/login", json=login).json()
    assert client.get("/api/v1/auth/me", headers=bearer(fresh["access_token"])).is_success

    # Force logout: at once, and a login right after (same second) is not caught by it.
    assert client.post(f"/api/v1/admin/users/{victim_id}/logout", headers=admin).is_success
    assert client.get("/api/v1/auth/me", headers=bearer(fresh["access_token"])).status_code == 401
    after = client.post("/api/v1/auth/login", json=login).json()
    assert client.get("/api/v1/auth/me", headers=bearer(after["access_token"])).is_success
    refresh = {"refresh_token": fresh["refresh_token"]}
    assert client.post("/api/v1/auth/refresh", json=refresh).status_code == 401
    [revoked] = [e for e in events("user.tokens_revoked") if e["data"]["user_id"] == victim_id]
    assert revoked["data"]["not_before"] > event["data"]["not_before"]

    own = client.post(f"/api/v1/admin/users/{boss['user']['id']}/suspend", headers=admin)
    assert own.status_code == 409
    missing = client.post(f"/api/v1/admin/users/{uuid.uuid4()}/suspend", headers=admin)
    assert missing.status_code == 404

    audit = client.get("/api/v1/admin/audit", headers=admin).json()["entries"]
    assert [(e["action"], e["target_user_id"]) for e in audit][:3] == [
        ("force-logout", victim_id),
        ("unsuspend", victim_id),
        ("suspend", victim_id),
    ]
    assert {e["admin_id"] for e in audit[:3]} == {boss["user"]["id"]}
    assert all(e["created_at"] for e in audit)
    assert audit[-1]["action"] == "grant-admin"
    assert audit[-1]["admin_id"] is None


def test_search_stats_delete_on_behalf_and_demotion(
    client: TestClient, register: Any, make_admin: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    boss = register(client, f"boss_{tag}")
    admin = bearer(make_admin(boss))
    members = [register(client, f"m{tag}_{n}") for n in range(3)]

    page = client.get(f"/api/v1/admin/users?q=M{tag}&limit=2", headers=admin).json()
    assert [u["username"] for u in page["users"]] == [f"m{tag}_0", f"m{tag}_1"]
    assert page["users"][0]["email"] == f"m{tag}_0@example.com"
    rest = client.get(
        f"/api/v1/admin/users?q=m{tag}&limit=2&cursor={page['next_cursor']}", headers=admin
    ).json()
    assert [u["username"] for u in rest["users"]] == [f"m{tag}_2"]
    assert rest["next_cursor"] is None
    admins = client.get("/api/v1/admin/users?status=admin", headers=admin).json()["users"]
    assert [u["username"] for u in admins] == [f"boss_{tag}"]
    bad = client.get("/api/v1/admin/users?status=everyone", headers=admin)
    assert bad.status_code == 422

    stats = client.get("/api/v1/admin/stats", headers=admin).json()
    assert stats["users"] == 4
    assert stats["admins"] == 1
    assert stats["deleted_accounts"] == 0
    assert stats["active_sessions"] >= 5  # four registrations and the admin's login

    target = members[0]["user"]["id"]
    deleted = client.delete(f"/api/v1/admin/users/{target}", headers=admin)
    assert deleted.status_code == 202, deleted.text
    body = deleted.json()
    assert body["user_id"] == target
    assert body["requested_by"] == boss["user"]["id"]
    erasure = client.get(f"/api/v1/admin/erasures/{body['erasure_id']}", headers=admin).json()
    assert erasure["complete"] is False
    listed = client.get("/api/v1/admin/erasures?incomplete=true", headers=admin).json()
    assert [e["erasure_id"] for e in listed] == [body["erasure_id"]]
    stats = client.get("/api/v1/admin/stats", headers=admin).json()
    assert stats["users"] == 3
    assert stats["deleted_accounts"] == 1
    assert stats["erasures_incomplete"] == 1
    [entry] = [
        e
        for e in client.get("/api/v1/admin/audit", headers=admin).json()["entries"]
        if e["action"] == "delete"
    ]
    assert entry["detail"] == {"erasure_id": body["erasure_id"]}

    # Taking the role back works at once, even with a token that still says admin.
    from auth_service.admin import set_role
    from messaging_kit.db import Database

    db = Database(client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with db.sessions() as session:
        set_role(session, boss["user"]["username"], "user")
    db.close()
    assert client.get("/api/v1/admin/stats", headers=admin).status_code == 403


def test_make_admin_from_the_command_line(client: TestClient, register: Any, settings: Any) -> None:
    user = register(client)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "AMQP_URL": settings.amqp_url,
        "SIGNING_KEYS_DIR": settings.signing_keys_dir,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "auth_service", "make-admin", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    granted = run(user["user"]["username"])
    assert granted.returncode == 0, granted.stderr
    assert "now has the role admin" in granted.stdout
    token = client.post(
        "/api/v1/auth/login",
        json={"login": user["user"]["username"], "password": user["password"]},
    ).json()["access_token"]
    assert client.get("/api/v1/admin/stats", headers=bearer(token)).is_success
    missing = run("nobody_here")
    assert missing.returncode == 1
    assert "no user named" in missing.stderr
