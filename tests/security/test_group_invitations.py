"""Nobody is put into a group of a stranger's choosing: adding someone who has not accepted
the adder as a contact becomes an invitation they accept or decline; a contact is added
directly; a block refuses either way. Tried over HTTP and the socket of the real servers."""

from __future__ import annotations

from typing import Any

import pytest
from messaging_testing.infra import wait_for

from security.stack import Person, Platform
from security.test_blocks import frames

pytestmark = pytest.mark.infra


def groups(platform: Platform, path: str) -> str:
    return platform.url("groups", f"/api/v1/groups{path}")


def invitations_of(platform: Platform, person: Person) -> list[dict[str, Any]]:
    response = platform.http.get(groups(platform, "/invitations"), headers=person.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_a_new_group_takes_contacts_and_invites_strangers(platform: Platform) -> None:
    alice, bob, dave = platform.register(), platform.register(), platform.register()
    platform.accept_contact(bob, alice)  # bob accepted alice; dave never heard of her
    dave_socket = platform.socket(dave)
    try:
        created = platform.http.post(
            groups(platform, ""),
            json={"name": "book club", "member_ids": [bob.id, dave.id]},
            headers=alice.headers,
        )
        assert created.status_code == 201, created.text
        group = created.json()
        assert {m["user_id"] for m in group["members"]} == {alice.id, bob.id}
        assert group["invited"] == [dave.id]
        # Dave is not in it: he cannot read it, and he hears only of the invitation.
        assert (
            platform.http.get(groups(platform, f"/{group['id']}"), headers=dave.headers).status_code
            == 404
        )

        def invited_live() -> list[dict[str, Any]]:
            return [
                f
                for f in frames(dave_socket, 0.3)
                if f.get("type") == "event" and f["event"]["type"] == "group.invitation.created"
            ]

        [frame] = wait_for(invited_live, timeout=10)
        assert frame["event"]["data"]["inviter_id"] == alice.id
    finally:
        dave_socket.close()
    [invitation] = invitations_of(platform, dave)
    assert invitation["group_name"] == "book club"
    # Only dave can answer it: to anyone else it does not exist.
    accept = groups(platform, f"/invitations/{invitation['id']}/accept")
    assert platform.http.post(accept, headers=bob.headers).status_code == 404
    accepted = platform.http.post(accept, headers=dave.headers)
    assert accepted.status_code == 200, accepted.text
    members = platform.http.get(groups(platform, f"/{group['id']}"), headers=dave.headers).json()
    assert dave.id in {m["user_id"] for m in members["members"]}
    again = platform.http.post(accept, headers=dave.headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_adding_a_stranger_invites_them_and_they_may_decline(platform: Platform) -> None:
    alice, bob, erin = platform.register(), platform.register(), platform.register()
    platform.accept_contact(bob, alice)
    group_id = platform.http.post(
        groups(platform, ""), json={"name": "g", "member_ids": []}, headers=alice.headers
    ).json()["id"]
    members = groups(platform, f"/{group_id}/members")

    direct = platform.http.post(members, json={"user_id": bob.id}, headers=alice.headers)
    assert direct.status_code == 201, direct.text
    assert direct.headers["location"] == f"/api/v1/groups/{group_id}/members/{bob.id}"

    invited = platform.http.post(members, json={"user_id": erin.id}, headers=alice.headers)
    assert invited.status_code == 202, invited.text
    invitation = invited.json()
    assert invited.headers["location"] == f"/api/v1/groups/invitations/{invitation['id']}"
    assert invitation["status"] == "pending"
    declined = platform.http.post(
        groups(platform, f"/invitations/{invitation['id']}/decline"), headers=erin.headers
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert invitations_of(platform, erin) == []
    assert (
        platform.http.get(groups(platform, f"/{group_id}"), headers=erin.headers).status_code == 404
    )


def test_a_block_refuses_an_invitation_and_its_acceptance(platform: Platform) -> None:
    alice, erin, frank = platform.register(), platform.register(), platform.register()
    group_id = platform.http.post(
        groups(platform, ""), json={"name": "g", "member_ids": []}, headers=alice.headers
    ).json()["id"]
    members = groups(platform, f"/{group_id}/members")
    # Erin blocked alice: not even an invitation reaches her.
    platform.block(erin, alice)
    platform.wait_block_known(erin, alice)
    refused = platform.http.post(members, json={"user_id": erin.id}, headers=alice.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "urn:messaging:problem:blocked"
    assert invitations_of(platform, erin) == []
    # Frank is invited, then alice blocks him: his acceptance is refused.
    invited = platform.http.post(members, json={"user_id": frank.id}, headers=alice.headers)
    assert invited.status_code == 202, invited.text
    platform.block(alice, frank)
    platform.wait_block_known(alice, frank)
    accept = platform.http.post(
        groups(platform, f"/invitations/{invited.json()['id']}/accept"), headers=frank.headers
    )
    assert accept.status_code == 403, accept.text
    assert (
        platform.http.get(groups(platform, f"/{group_id}"), headers=frank.headers).status_code
        == 404
    )
