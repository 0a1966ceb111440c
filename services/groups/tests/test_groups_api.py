"""Groups over HTTP against a real server and database: roles and membership rules, posts
with idempotency keys, history with cursors, and events through the outbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pika
import pytest
from messaging_testing.infra import wait_for

pytestmark = pytest.mark.infra


def test_roles_and_membership_rules(stack: Any) -> None:
    owner, admin, member, outsider, late = (stack.user() for _ in range(5))
    group = stack.create(owner, [member])
    gid, url = group["id"], f"{stack.url}/api/v1/groups/{group['id']}"
    assert {m["role"] for m in group["members"]} == {"owner", "member"}
    # Only the owner makes admins; members add no one.
    add = f"{url}/members"
    refused = httpx.post(add, json={"user_id": admin.id, "role": "admin"}, headers=member.headers)
    assert refused.status_code == 403
    made = httpx.post(add, json={"user_id": admin.id, "role": "admin"}, headers=owner.headers)
    assert made.status_code == 201
    again = httpx.post(add, json={"user_id": admin.id}, headers=owner.headers)
    assert again.status_code == 409
    assert httpx.post(add, json={"user_id": late.id}, headers=admin.headers).status_code == 201
    # Admins rename and remove members, not other admins or the owner.
    renamed = httpx.patch(url, json={"name": "renamed"}, headers=admin.headers)
    assert renamed.json()["name"] == "renamed"
    assert httpx.patch(url, json={"name": "x"}, headers=member.headers).status_code == 403
    assert httpx.delete(f"{add}/{owner.id}", headers=admin.headers).status_code == 403
    assert httpx.delete(f"{add}/{late.id}", headers=admin.headers).status_code == 204
    # Outsiders see nothing, not even that the group exists.
    assert httpx.get(url, headers=outsider.headers).status_code == 404
    # The owner leaves only after handing over.
    assert httpx.delete(f"{add}/{owner.id}", headers=owner.headers).status_code == 409
    handed = httpx.patch(f"{add}/{admin.id}", json={"role": "owner"}, headers=owner.headers)
    assert handed.json()["role"] == "owner"
    assert httpx.delete(f"{add}/{owner.id}", headers=owner.headers).status_code == 204
    mine = httpx.get(f"{stack.url}/api/v1/groups", headers=admin.headers).json()
    assert mine == [{"id": gid, "name": "renamed", "role": "owner"}]


def test_posts_history_and_removal(stack: Any) -> None:
    owner, member = stack.user(), stack.user()
    gid = stack.create(owner, [member])["id"]
    first = stack.post(owner, gid, key="k1")
    assert first.status_code == 201, first.text
    assert (
        stack.post(
            owner, gid, key="k1", ciphertext=first.json()["ciphertext"], nonce=first.json()["nonce"]
        ).status_code
        == 200
    )
    assert stack.post(owner, gid, key="k1").status_code == 409
    sent = [first.json()["id"]] + [stack.post(member, gid).json()["id"] for _ in range(4)]
    url = f"{stack.url}/api/v1/groups/{gid}/messages"
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"before": cursor} if cursor else {})}
        page = httpx.get(url, params=params, headers=member.headers).json()
        seen += [m["id"] for m in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sent[::-1]
    big = stack.post(owner, gid, ciphertext="A" * 2000)
    assert big.status_code == 413
    remove = f"{stack.url}/api/v1/groups/{gid}/members/{member.id}"
    assert httpx.delete(remove, headers=owner.headers).status_code == 204
    assert stack.post(member, gid).status_code == 404
    assert httpx.get(url, headers=member.headers).status_code == 404


def test_group_is_bounded(stack: Any) -> None:
    owner = stack.user()
    others = [stack.user() for _ in range(6)]
    response = httpx.post(
        f"{stack.url}/api/v1/groups",
        json={"name": "big", "member_ids": [o.id for o in others]},
        headers=owner.headers,
    )
    assert response.status_code == 422


def test_membership_and_message_events(stack: Any) -> None:
    owner, member, joiner = stack.user(), stack.user(), stack.user()
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.exchange_declare(stack.settings.events_exchange, "topic", durable=True)
    channel.queue_bind(queue, stack.settings.events_exchange, "group.#")
    gid = stack.create(owner, [member])["id"]
    httpx.post(
        f"{stack.url}/api/v1/groups/{gid}/members",
        json={"user_id": joiner.id},
        headers=owner.headers,
    )
    message = stack.post(owner, gid).json()
    httpx.delete(f"{stack.url}/api/v1/groups/{gid}/members/{joiner.id}", headers=joiner.headers)
    events: list[dict] = []

    def got(count: int) -> bool:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method:
            events.append(json.loads(body))
        return len(events) >= count

    wait_for(lambda: got(4))
    connection.close()
    assert [e["type"] for e in events] == [
        "group.created",
        "group.member.added",
        "group.message.created",
        "group.member.removed",
    ]
    everyone = sorted([owner.id, member.id, joiner.id])
    assert events[1]["data"]["recipient_ids"] == everyone
    assert events[2]["data"]["message_id"] == message["id"]
    assert events[2]["data"]["recipient_ids"] == everyone
    removed = events[3]["data"]
    assert removed["reason"] == "left"
    assert removed["recipient_ids"] == everyone
    assert removed["member_ids"] == sorted([owner.id, member.id])
