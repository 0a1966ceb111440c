"""A block holds on every path: after A blocks C, C reaches A nowhere (groups, presence,
last seen, typing, receipts, contacts, invitations), tried as C would, over HTTP and the
WebSocket of the running services."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from messaging_testing.infra import wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from security.stack import Person, Platform, post_body

pytestmark = pytest.mark.infra


def frames(connection: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Every frame that arrives within `seconds`."""
    seen, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            seen.append(json.loads(connection.recv(timeout=left)))
        except TimeoutError:
            break
        except ConnectionClosed:
            break
    return seen


def group_with(platform: Platform, owner: Person, *members: Person) -> str:
    response = platform.http.post(
        platform.url("groups", "/api/v1/groups"),
        json={"name": "g", "member_ids": [m.id for m in members]},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def blocked_trio(platform: Platform) -> tuple[Person, Person, Person, str]:
    """alice, bob, carol and a group bob made with both before alice blocked carol."""
    alice, bob, carol = platform.register(), platform.register(), platform.register()
    # Contacts of bob's, so his group takes them directly (test_group_invitations.py).
    platform.befriend(alice, bob)
    platform.befriend(carol, bob)
    shared = group_with(platform, bob, alice, carol)
    platform.block(alice, carol)
    platform.wait_block_known(alice, carol)
    return alice, bob, carol, shared


def test_a_blocked_user_cannot_put_the_blocker_into_a_group(platform: Platform) -> None:
    alice, bob, carol, _ = blocked_trio(platform)
    create = platform.http.post(
        platform.url("groups", "/api/v1/groups"),
        json={"name": "trap", "member_ids": [alice.id]},
        headers=carol.headers,
    )
    assert create.status_code == 403, create.text
    assert create.json()["type"] == "urn:messaging:problem:blocked"
    own = group_with(platform, carol, bob)
    add = platform.http.post(
        platform.url("groups", f"/api/v1/groups/{own}/members"),
        json={"user_id": alice.id},
        headers=carol.headers,
    )
    assert add.status_code == 403, add.text
    assert add.headers["content-type"].startswith("application/problem+json")


def test_posts_and_typing_in_a_shared_group_do_not_reach_the_blocker(platform: Platform) -> None:
    alice, bob, carol, shared = blocked_trio(platform)
    alice_socket, bob_socket = platform.socket(alice), platform.socket(bob)
    carol_socket = platform.socket(carol)
    try:
        # Posting in the shared group: bob hears carol, alice does not.
        posted = platform.http.post(
            platform.url("groups", f"/api/v1/groups/{shared}/messages"),
            json=post_body(alice, bob, carol),
            headers=carol.headers,
        )
        assert posted.status_code == 201, posted.text

        def delivered(seen: list[dict[str, Any]]) -> bool:
            return any(
                f.get("type") == "event" and f["event"]["type"] == "group.message.created"
                for f in seen
            )

        wait_for(lambda: delivered(frames(bob_socket, 0.2)), timeout=10)
        assert not delivered(frames(alice_socket, 1.0)), "carol's post reached alice"

        # Typing: to alice directly, and in the shared group (bob still hears it there).
        carol_socket.send(json.dumps({"type": "typing", "to": alice.id}))

        def bob_hears_group_typing() -> bool:
            carol_socket.send(json.dumps({"type": "typing", "group_id": shared}))
            return any(
                f["type"] == "typing" and f.get("group_id") == shared
                for f in frames(bob_socket, 0.3)
            )

        wait_for(bob_hears_group_typing, timeout=10)
        typing = [f for f in frames(alice_socket, 1.0) if f["type"] == "typing"]
        assert typing == [], f"carol's typing reached alice: {typing}"
    finally:
        for connection in (alice_socket, bob_socket, carol_socket):
            connection.close()


def test_presence_and_last_seen_do_not_cross_a_block(platform: Platform) -> None:
    alice, bob, carol, _ = blocked_trio(platform)
    # Both show everyone their presence (tests/security/test_presence.py: contacts by
    # default), so only the block hides them.
    for person in (alice, carol):
        platform.http.patch(
            platform.url("users", "/api/v1/users/me"),
            json={"presence_visibility": "everyone"},
            headers=person.headers,
        ).raise_for_status()
    alice_socket, carol_socket = platform.socket(alice), platform.socket(carol)
    try:
        # Alice is online, yet carol sees her offline and never seen, over HTTP and over the
        # socket; bob sees her as she is.
        presence = platform.url("websocket", f"/api/v1/presence?user_id={alice.id}")
        assert platform.http.get(presence, headers=bob.headers).json()[alice.id]["online"]
        hidden = platform.http.get(presence, headers=carol.headers).json()[alice.id]
        assert hidden == {"online": False, "last_seen": None}
        carol_socket.send(json.dumps({"type": "presence", "user_ids": [alice.id]}))
        [answer] = [f for f in frames(carol_socket, 1.0) if f["type"] == "presence"]
        assert answer["users"][alice.id] == {"online": False, "last_seen": None}
        # Alice's block hides carol from alice just the same (neither sees the other).
        back = platform.http.get(
            platform.url("websocket", f"/api/v1/presence?user_id={carol.id}"),
            headers=alice.headers,
        ).json()[carol.id]
        assert back == {"online": False, "last_seen": None}
    finally:
        alice_socket.close()
        carol_socket.close()


def test_a_block_holds_for_contacts_invitations_and_receipts(platform: Platform) -> None:
    alice, carol = platform.register(), platform.register()
    # Carol wrote to alice before the block.
    sent = platform.http.post(
        platform.url("messages", "/api/v1/messages"),
        json={"recipient_id": alice.id, **post_body(alice, carol)},
        headers=carol.headers,
    )
    assert sent.status_code in (200, 201), sent.text
    message_id = sent.json()["id"]
    platform.block(alice, carol)

    def refused(response: Any, status: int) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    contacts, invitations = (
        platform.url("users", "/api/v1/contacts"),
        platform.url("users", "/api/v1/invitations"),
    )
    refused(platform.http.post(contacts, json={"user_id": alice.id}, headers=carol.headers), 403)
    refused(
        platform.http.post(invitations, json={"invitee_id": alice.id}, headers=carol.headers), 403
    )
    # Alice's own block is not overwritten by a contact or an invitation of hers either.
    refused(platform.http.post(contacts, json={"user_id": carol.id}, headers=alice.headers), 409)
    refused(
        platform.http.post(invitations, json={"invitee_id": carol.id}, headers=alice.headers), 409
    )

    # Receipts: alice reading carol's old message tells carol nothing. The block reaches
    # messages through its own consumer: until it refuses carol's sends, it has it.
    again = {"recipient_id": alice.id, **post_body(alice, carol)}
    wait_for(
        lambda: (
            platform.http.post(
                platform.url("messages", "/api/v1/messages"), json=again, headers=carol.headers
            ).status_code
            == 403
        ),
        timeout=10,
    )
    read = platform.http.post(
        platform.url("messages", f"/api/v1/messages/{message_id}/read"), headers=alice.headers
    )
    assert read.status_code == 200, read.text
    seen = platform.http.get(
        platform.url("messages", f"/api/v1/messages/{message_id}"), headers=carol.headers
    ).json()
    assert seen["read_at"] is None, "the receipt crossed the block"


def test_a_file_is_not_shared_across_a_block(platform: Platform) -> None:
    alice, bob, carol, _ = blocked_trio(platform)
    upload = platform.http.post(
        platform.url("media", "/api/v1/media/upload"),
        params={"participant_id": [bob.id, alice.id]},
        files={"file": ("x.txt", b"hello", "text/plain")},
        headers=carol.headers,
    )
    assert upload.status_code == 403, upload.text
    assert upload.json()["type"] == "urn:messaging:problem:blocked"
