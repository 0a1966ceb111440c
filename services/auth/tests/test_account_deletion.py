"""Deleting an account against real PostgreSQL, Redis and RabbitMQ: auth's rows go at once,
`user.deleted` keeps the contract, confirmations arrive as `user.erased` over the broker, and
`user.deleted` is published again (same erasure id) until every service confirmed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pika
import psycopg2
import pytest
from auth_service.erasure import retry_delay
from auth_service.main import create_app
from fastapi.testclient import TestClient
from messaging_kit.events.envelope import new_event
from messaging_testing.infra import bearer, wait_for

pytestmark = pytest.mark.infra
SERVICES = ("groups", "media", "messages", "notifications", "relay", "users", "websocket")


def delete_me(client: TestClient, user: dict[str, Any], password: str) -> Any:
    return client.request(
        "DELETE",
        "/api/v1/auth/me",
        json={"password": password},
        headers=bearer(user["tokens"]["access_token"]),
    )


def rows_about(database_url: str, user_id: str) -> dict[str, int]:
    """Every auth table, counted for the user (the outbox by the id in its event bodies)."""
    queries = {
        "users": "SELECT count(*) FROM users WHERE id = %s",
        "refresh_tokens": "SELECT count(*) FROM refresh_tokens WHERE user_id = %s",
        "email_verifications": "SELECT count(*) FROM email_verifications WHERE user_id = %s",
        "outbox": "SELECT count(*) FROM outbox WHERE body->'data'->>'user_id' = %s"
        " AND event_type <> 'user.deleted'",
        "deleted_users": "SELECT count(*) FROM deleted_users WHERE user_id = %s",
    }
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        counts = {}
        for table, query in queries.items():
            cursor.execute(query, (user_id,))
            counts[table] = cursor.fetchone()[0]
    connection.close()
    return counts


def publish(amqp_url: str, exchange: str, event_type: str, data: dict[str, Any]) -> str:
    event = new_event(event_type, data.get("service", "test"), data)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.basic_publish(
            exchange=exchange,
            routing_key=event_type,
            body=json.dumps(event.to_json()).encode(),
            properties=pika.BasicProperties(message_id=event.id),
        )
    finally:
        connection.close()
    return event.id


def test_deleting_needs_the_password_and_erases_auth_rows(
    client: TestClient, register: Any, database_url: str, events: Any
) -> None:
    user = register(client)
    user_id = user["user"]["id"]
    wrong = delete_me(client, user, "not my password")
    assert wrong.status_code == 403
    assert wrong.json()["type"] == "urn:messaging:problem:wrong-password"

    response = delete_me(client, user, user["password"])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["complete"] is False
    assert sorted(body["services"]) == list(SERVICES)
    assert {s["state"] for s in body["services"].values()} == {"pending"}

    assert rows_about(database_url, user_id) == {
        "users": 0,
        "refresh_tokens": 0,
        "email_verifications": 0,
        "outbox": 0,  # the user.registered body held the email
        "deleted_users": 1,
    }
    [deleted] = events("user.deleted")
    assert deleted["data"] == {
        "user_id": user_id,
        "erasure_id": body["erasure_id"],
        "requested_at": deleted["data"]["requested_at"],
    }
    uuid.UUID(deleted["data"]["erasure_id"])
    # Nothing of the account works any more.
    headers = bearer(user["tokens"]["access_token"])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    login = {"login": user["user"]["username"], "password": user["password"]}
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    refresh = {"refresh_token": user["tokens"]["refresh_token"]}
    assert client.post("/api/v1/auth/refresh", json=refresh).status_code == 401
    # The address is free again, for a new account with a new id.
    again = register(client, user["user"]["username"])
    assert again["user"]["id"] != user_id


def test_erasure_completes_only_when_every_service_confirmed(
    client: TestClient, register: Any, settings: Any
) -> None:
    wait_for(client.app.state.consumer.connected.is_set)  # type: ignore[attr-defined]
    user = register(client)
    erasure = delete_me(client, user, user["password"]).json()
    erasure_id, user_id = erasure["erasure_id"], user["user"]["id"]
    url = f"/api/v1/auth/erasures/{erasure_id}"

    def confirm(service: str, **overrides: Any) -> str:
        data = {"user_id": user_id, "erasure_id": erasure_id, "service": service} | overrides
        return publish(settings.amqp_url, settings.events_exchange, "user.erased", data)

    for service in SERVICES[:-1]:
        confirm(service)
    confirm("websocket", user_id=str(uuid.uuid4()))  # not this user's: ignored
    confirm("billing")  # not a service that must confirm: ignored
    wait_for(
        lambda: (
            [
                name
                for name, state in client.get(url).json()["services"].items()
                if state["state"] == "confirmed"
            ]
            == list(SERVICES[:-1])
        )
    )
    assert client.get(url).json()["complete"] is False
    confirm("websocket")
    confirm("websocket")  # a service confirming twice changes nothing
    done = wait_for(lambda: (body := client.get(url).json())["complete"] and body)
    assert done["completed_at"] is not None
    assert done["next_retry_at"] is None
    assert client.get(f"/api/v1/auth/erasures/{uuid.uuid4()}").status_code == 404


def test_incomplete_erasures_are_published_again_with_backoff(
    make_settings: Any, register: Any, events: Any
) -> None:
    fast = make_settings(
        erasure_retry_delay_seconds=0.3,
        erasure_retry_max_delay_seconds=0.6,
        erasure_retry_poll_seconds=0.1,
    )
    with TestClient(create_app(fast)) as client:
        user = register(client)
        erasure_id = delete_me(client, user, user["password"]).json()["erasure_id"]
        published = wait_for(
            lambda: len(found := events("user.deleted")) >= 3 and found, timeout=15
        )
        assert {event["data"]["erasure_id"] for event in published} == {erasure_id}
        assert len({event["id"] for event in published}) == len(published)  # new event ids
        status = client.get(f"/api/v1/auth/erasures/{erasure_id}").json()
        assert status["publish_count"] >= 3


def test_retry_delays_double_up_to_the_cap() -> None:
    assert [retry_delay(n, 300, 3600) for n in range(1, 7)] == [300, 600, 1200, 2400, 3600, 3600]
