"""The surface a stranger meets: internal endpoints refuse anyone without the platform's
service credential (an access token is not one); every 201 says where the new thing lives;
every error is problem+json."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from messaging_testing.infra import SERVICE_TOKEN, bearer

from security.stack import Platform, post_body

pytestmark = pytest.mark.infra

INTERNAL = [("auth", "/internal/v1/revocations"), ("users", "/internal/v1/blocks")]


@pytest.mark.parametrize(("service", "path"), INTERNAL)
def test_internal_endpoints_need_service_credentials(
    platform: Platform, service: str, path: str
) -> None:
    person = platform.register()
    url = platform.url(service, path)
    for headers in ({}, person.headers, bearer("guessed"), {"Authorization": SERVICE_TOKEN}):
        refused = platform.http.get(url, headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == "urn:messaging:problem:service-credentials-required"
    assert platform.http.get(url, headers=bearer(SERVICE_TOKEN)).status_code == 200


def test_every_201_carries_a_location(platform: Platform) -> None:
    alice, bob = platform.register(), platform.register()
    http = platform.http
    created = {}

    name = f"x{uuid.uuid4().hex[:8]}"
    created["register"] = http.post(
        platform.url("auth", "/api/v1/auth/register"),
        json={"email": f"{name}@example.com", "username": name, "password": "correct horse 1"},
    )
    created["contact"] = http.post(
        platform.url("users", "/api/v1/contacts"), json={"user_id": bob.id}, headers=alice.headers
    )
    created["invitation"] = http.post(
        platform.url("users", "/api/v1/invitations"),
        json={"invitee_id": bob.id},
        headers=alice.headers,
    )
    created["device"] = http.put(
        platform.url("users", f"/api/v1/users/me/devices/{uuid.uuid4()}"),
        json={"algorithm": "X25519", "public_key": base64.b64encode(os.urandom(32)).decode()},
        headers=alice.headers,
    )
    created["message"] = http.post(
        platform.url("messages", "/api/v1/messages"),
        json={"recipient_id": bob.id, **post_body(alice, bob)},
        headers=alice.headers,
    )
    group = http.post(
        platform.url("groups", "/api/v1/groups"), json={"name": "g"}, headers=alice.headers
    )
    created["group"] = group
    group_id = group.json()["id"]
    platform.accept_contact(bob, alice)  # else adding bob is an invitation (202, Location too)
    created["member"] = http.post(
        platform.url("groups", f"/api/v1/groups/{group_id}/members"),
        json={"user_id": bob.id},
        headers=alice.headers,
    )
    created["group message"] = http.post(
        platform.url("groups", f"/api/v1/groups/{group_id}/messages"),
        json=post_body(alice, bob),
        headers=alice.headers,
    )
    for what, response in created.items():
        assert response.status_code == 201, (what, response.text)
        assert response.headers.get("location", "").startswith("/api/v1/"), what
    # Where they say, the thing is.
    message = created["message"]
    shown = http.get(platform.url("messages", message.headers["location"]), headers=bob.headers)
    assert shown.json()["id"] == message.json()["id"]
    shown = http.get(platform.url("groups", group.headers["location"]), headers=bob.headers)
    assert shown.json()["id"] == group_id
    posted = created["group message"]
    page = http.get(platform.url("groups", posted.headers["location"]), headers=bob.headers)
    assert [item["id"] for item in page.json()["items"]] == [posted.json()["id"]]


@pytest.mark.parametrize("service", ["auth", "users", "messages", "groups", "websocket"])
def test_errors_are_problem_json(platform: Platform, service: str) -> None:
    http = platform.http
    for response in (
        http.get(platform.url(service, "/no/such/path")),
        http.delete(platform.url(service, "/health")),
        http.get(platform.url(service, "/internal/v1/anything")),
        http.post(
            platform.url(service, "/api/v1/auth/login" if service == "auth" else "/health"),
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
    ):
        assert response.status_code >= 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json"), (
            response.request.url,
            response.text,
        )
