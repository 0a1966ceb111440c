"""Presence and last seen show only to the people a user accepted as contacts (their own
setting, `contacts` by default): a stranger gets the answer an unknown id gets, over HTTP and
on the socket, tried against the real users and websocket servers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from messaging_testing.infra import wait_for

from security.stack import Person, Platform
from security.test_blocks import frames

pytestmark = pytest.mark.infra

UNSEEN = {"online": False, "last_seen": None}


def http_presence(platform: Platform, viewer: Person, *user_ids: str) -> dict[str, Any]:
    response = platform.http.get(
        platform.url("websocket", "/api/v1/presence"),
        params={"user_id": list(user_ids)},
        headers=viewer.headers,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def socket_presence(connection: Any, user_id: str) -> dict[str, Any]:
    connection.send(json.dumps({"type": "presence", "user_ids": [user_id]}))
    [answer] = [f for f in frames(connection, 1.0) if f["type"] == "presence"]
    status: dict[str, Any] = answer["users"][user_id]
    return status


def set_visibility(platform: Platform, person: Person, visibility: str) -> None:
    response = platform.http.patch(
        platform.url("users", "/api/v1/users/me"),
        json={"presence_visibility": visibility},
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["presence_visibility"] == visibility


def test_a_stranger_sees_you_as_an_unknown_id(platform: Platform) -> None:
    alice, carol = platform.register(), platform.register()
    me = platform.http.get(platform.url("users", "/api/v1/users/me"), headers=alice.headers)
    assert me.json()["presence_visibility"] == "contacts"  # private by default
    alice_socket, carol_socket = platform.socket(alice), platform.socket(carol)
    try:
        assert http_presence(platform, alice, alice.id)[alice.id]["online"]  # she is online
        nobody = str(uuid.uuid4())
        answer = http_presence(platform, carol, alice.id, nobody)
        assert answer[alice.id] == UNSEEN == answer[nobody]
        assert socket_presence(carol_socket, alice.id) == UNSEEN
        # Carol adding alice to her own list gives carol nothing: it is alice's choice.
        platform.accept_contact(carol, alice)
        assert http_presence(platform, carol, alice.id)[alice.id] == UNSEEN
    finally:
        alice_socket.close()
        carol_socket.close()


def test_contacts_see_presence_and_the_setting_widens_or_closes_it(platform: Platform) -> None:
    alice, bob, carol = platform.register(), platform.register(), platform.register()
    alice_socket, bob_socket = platform.socket(alice), platform.socket(bob)
    try:
        platform.accept_contact(alice, bob)
        assert http_presence(platform, bob, alice.id)[alice.id]["online"] is True
        assert socket_presence(bob_socket, alice.id)["online"] is True
        # A malformed id beside hers hides only itself.
        bob_socket.send(json.dumps({"type": "presence", "user_ids": ["not-an-id", alice.id]}))
        [mixed] = [f for f in frames(bob_socket, 1.0) if f["type"] == "presence"]
        assert mixed["users"][alice.id]["online"] is True
        assert http_presence(platform, carol, alice.id)[alice.id] == UNSEEN

        set_visibility(platform, alice, "nobody")
        assert http_presence(platform, bob, alice.id)[alice.id] == UNSEEN
        assert socket_presence(bob_socket, alice.id) == UNSEEN

        set_visibility(platform, alice, "everyone")
        assert http_presence(platform, carol, alice.id)[alice.id]["online"] is True
        # ...but never across a block, whatever the setting.
        platform.block(alice, carol)
        platform.wait_block_known(alice, carol)
        assert http_presence(platform, carol, alice.id)[alice.id] == UNSEEN

        # Last seen follows the same rule once alice is gone.
        set_visibility(platform, alice, "contacts")
        alice_socket.close()
        wait_for(lambda: not http_presence(platform, bob, alice.id)[alice.id]["online"])
        assert http_presence(platform, bob, alice.id)[alice.id]["last_seen"] is not None
        stranger = platform.register()
        assert http_presence(platform, stranger, alice.id)[alice.id] == UNSEEN
    finally:
        alice_socket.close()
        bob_socket.close()
