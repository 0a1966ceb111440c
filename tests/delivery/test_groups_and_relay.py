"""Groups end to end: live to members on both replicas, relay for the offline one, nothing
for a removed member after removal."""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import httpx
import pytest
from messaging_testing.infra import wait_for

pytestmark = pytest.mark.infra


def post(platform: Any, sender: Any, group_id: str, members: list[Any]) -> str:
    body = {
        "idempotency_key": uuid.uuid4().hex,
        "ciphertext": base64.b64encode(os.urandom(32)).decode(),
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "keys": {m.id: base64.b64encode(f"for-{m.id}".encode()).decode() for m in members},
    }
    response = platform.http.post(
        f"{platform.groups_url}/api/v1/groups/{group_id}/messages",
        json=body,
        headers=sender.headers,
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["id"]
    return message_id


def test_a_group_of_five_with_one_offline_and_one_removed(platform: Any) -> None:
    owner, a, b, offline, removed = (platform.user() for _ in range(5))
    members = [owner, a, b, offline, removed]
    created = httpx.post(
        f"{platform.groups_url}/api/v1/groups",
        json={"name": "five", "member_ids": [m.id for m in members[1:]]},
        headers=owner.headers,
    )
    gid = created.json()["id"]
    online = {
        user.id: platform.client(user, replica=i % 2)
        for i, user in enumerate([owner, a, b, removed])
    }
    before = [post(platform, m, gid, members) for m in (owner, a, b)]
    online[removed.id].wait_events(3, "group.message.created")
    kick = f"{platform.groups_url}/api/v1/groups/{gid}/members/{removed.id}"
    assert httpx.delete(kick, headers=owner.headers).status_code == 204
    after = [post(platform, m, gid, members[:4]) for m in (owner, a, b, owner)]
    everything = before + after
    for user in (owner, a, b):
        events = online[user.id].wait_events(7, "group.message.created")
        assert [e["data"]["message_id"] for e in events] == everything
        mine = events[0]["data"]["wrapped_key"]
        assert base64.b64decode(mine) == f"for-{user.id}".encode()
    # The removed member hears of the removal and of nothing after it.
    removal = online[removed.id].wait_events(1, "group.member.removed")
    assert removal[0]["data"]["user_id"] == removed.id
    online[owner.id].wait_events(1, "group.member.removed")
    got = [e["data"]["message_id"] for e in online[removed.id].of_type("group.message.created")]
    assert got == before
    # The offline member comes back: relay holds everything, oldest first.
    pending = platform.http.get(
        f"{platform.relay_url}/api/v1/relay/pending", headers=offline.headers
    ).json()
    assert [i["message_id"] for i in pending["items"]] == everything
    ack = platform.http.post(
        f"{platform.relay_url}/api/v1/relay/ack",
        json={"message_ids": everything},
        headers=offline.headers,
    )
    assert ack.json() == {"removed": 7}
    # And online users were never queued.
    for user in (owner, a, b):
        status = platform.http.get(
            f"{platform.relay_url}/api/v1/relay/status", headers=user.headers
        ).json()
        assert status == {"online": True, "pending": 0}


def test_typing_in_a_group_reaches_the_other_members_only(platform: Any) -> None:
    owner, a, outsider = platform.user(), platform.user(), platform.user()
    owner_phone, a_phone = platform.client(owner, 0), platform.client(a, 1)
    outsider_phone = platform.client(outsider, 0)
    gid = httpx.post(
        f"{platform.groups_url}/api/v1/groups",
        json={"name": "two", "member_ids": [a.id]},
        headers=owner.headers,
    ).json()["id"]
    owner_phone.wait_events(1, "group.created")
    owner_phone.send({"type": "typing", "group_id": gid})
    outsider_phone.send({"type": "typing", "group_id": gid})  # not a member: goes nowhere
    wait_for(lambda: [f for f in a_phone.frames if f["type"] == "typing"], timeout=5)
    typing = [f for f in a_phone.frames if f["type"] == "typing"]
    assert typing == [{"type": "typing", "from": owner.id, "active": True, "group_id": gid}]
    assert not [f for f in owner_phone.frames if f["type"] == "typing"]
