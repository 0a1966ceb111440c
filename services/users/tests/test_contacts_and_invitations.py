"""Search (prefix, paginated, no leaked emails), contacts and blocks, invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pytest
from messaging_testing.infra import bearer
from sqlalchemy import select, update
from users_service.models import EVENTS, Invitation

pytestmark = pytest.mark.infra


def events(stack: Any, event_type: str) -> list[dict[str, Any]]:
    with stack.users.app.state.db.sessions() as session:
        rows = session.scalars(
            select(EVENTS.outbox.c.body).where(EVENTS.outbox.c.event_type == event_type)
        ).all()
    return list(rows)


def test_search_by_prefix_pages_and_hides_emails(stack: Any) -> None:
    me, _ = stack.user("searcher")
    friend_token, _ = stack.user("zed_friend", "Zed Friend")
    for name in ("zed_a", "zed_b", "zed_c"):
        stack.user(name)
    stack.user("other_one", "Zed By Name")
    me_profile = stack.users.get("/api/v1/users/me", headers=bearer(me)).json()
    # The friend accepted me as a contact: their email is mine to see. zed_a did not: my
    # adding zed_a to my own list shows me nothing.
    stack.users.post(
        "/api/v1/contacts", headers=bearer(friend_token), json={"user_id": me_profile["user_id"]}
    )
    found = stack.users.get("/api/v1/users/search", headers=bearer(me), params={"q": "zed_a"})
    [zed_a] = found.json()["items"]
    added = stack.users.post(
        "/api/v1/contacts", headers=bearer(me), json={"user_id": zed_a["user_id"]}
    )
    assert added.json()["email"] is None

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "ZED", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = stack.users.get("/api/v1/users/search", headers=bearer(me), params=params).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [p["username"] for p in seen] == ["other_one", "zed_a", "zed_b", "zed_c", "zed_friend"]
    emails = {p["username"]: p["email"] for p in seen}
    assert emails["zed_friend"] == "zed_friend@example.com"  # accepted me
    assert emails["zed_a"] is None  # only in my list: never leaked
    # LIKE wildcards in the query are literal.
    wild = stack.users.get("/api/v1/users/search", headers=bearer(me), params={"q": "%"}).json()
    assert wild["items"] == []
    assert stack.users.get("/api/v1/users/search", headers=bearer(me)).status_code == 422


def test_contacts_add_list_remove_and_events(stack: Any) -> None:
    alice, _ = stack.user("c_alice")
    _, bob = stack.user("c_bob")
    added = stack.users.post(
        "/api/v1/contacts", headers=bearer(alice), json={"user_id": bob["user_id"]}
    )
    assert added.status_code == 201
    listed = stack.users.get("/api/v1/contacts", headers=bearer(alice)).json()
    assert [p["username"] for p in listed] == ["c_bob"]
    assert listed[0]["email"] is None  # bob has not accepted alice
    assert events(stack, "contact.added")[0]["data"]["contact_id"] == bob["user_id"]
    gone = stack.users.delete(f"/api/v1/contacts/{bob['user_id']}", headers=bearer(alice))
    assert gone.status_code == 204
    assert stack.users.get("/api/v1/contacts", headers=bearer(alice)).json() == []
    me = stack.users.get("/api/v1/users/me", headers=bearer(alice)).json()
    self_add = stack.users.post(
        "/api/v1/contacts", headers=bearer(alice), json={"user_id": me["user_id"]}
    )
    assert self_add.status_code == 422


def test_blocking_hides_you_and_refuses_contact(stack: Any) -> None:
    blocker, blocker_profile = stack.user("b_blocker")
    pest, pest_profile = stack.user("b_pest")
    assert (
        stack.users.put(
            f"/api/v1/contacts/{pest_profile['user_id']}/block", headers=bearer(blocker)
        ).status_code
        == 204
    )
    blocked = stack.users.get("/api/v1/contacts/blocked", headers=bearer(blocker)).json()
    assert [p["username"] for p in blocked] == ["b_pest"]
    [event] = events(stack, "contact.blocked")  # messages refuses the pest's messages on it
    assert event["data"] == {
        "owner_id": blocker_profile["user_id"],
        "contact_id": pest_profile["user_id"],
    }
    # The pest can neither find, view, add nor invite the blocker.
    found = stack.users.get("/api/v1/users/search", headers=bearer(pest), params={"q": "b_"}).json()
    assert [p["username"] for p in found["items"]] == []
    view = stack.users.get(f"/api/v1/users/{blocker_profile['user_id']}", headers=bearer(pest))
    assert view.status_code == 404
    add = stack.users.post(
        "/api/v1/contacts", headers=bearer(pest), json={"user_id": blocker_profile["user_id"]}
    )
    assert add.status_code == 403
    invite = stack.users.post(
        "/api/v1/invitations", headers=bearer(pest), json={"invitee_id": blocker_profile["user_id"]}
    )
    assert invite.status_code == 403
    stack.users.delete(f"/api/v1/contacts/{pest_profile['user_id']}/block", headers=bearer(blocker))
    assert len(events(stack, "contact.unblocked")) == 1
    view = stack.users.get(f"/api/v1/users/{blocker_profile['user_id']}", headers=bearer(pest))
    assert view.status_code == 200
    assert view.json()["email"] is None


def test_invitation_accept_makes_mutual_contacts(stack: Any) -> None:
    inviter, _inviter_profile = stack.user("i_inviter")
    invitee, invitee_profile = stack.user("i_invitee")
    created = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"], "message": "hi"},
    )
    assert created.status_code == 201, created.text
    invitation = created.json()
    again = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"]},
    )
    assert again.status_code == 409
    [event] = events(stack, "invitation.created")
    assert event["data"]["invitee_email"] == "i_invitee@example.com"
    incoming = stack.users.get("/api/v1/invitations", headers=bearer(invitee)).json()
    assert [i["id"] for i in incoming] == [invitation["id"]]
    # Only the invitee may answer.
    wrong = stack.users.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=bearer(inviter)
    )
    assert wrong.status_code == 404
    accepted = stack.users.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=bearer(invitee)
    )
    assert accepted.json()["status"] == "accepted"
    for token, other in ((inviter, "i_invitee"), (invitee, "i_inviter")):
        contacts = stack.users.get("/api/v1/contacts", headers=bearer(token)).json()
        assert [c["username"] for c in contacts] == [other]
        assert contacts[0]["email"] == f"{other}@example.com"  # mutual now
    assert len(events(stack, "contact.added")) == 2
    twice = stack.users.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=bearer(invitee)
    )
    assert twice.status_code == 409


def test_invitations_decline_and_expire(stack: Any) -> None:
    inviter, _ = stack.user("e_inviter")
    invitee, invitee_profile = stack.user("e_invitee")
    first = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"]},
    ).json()
    declined = stack.users.post(
        f"/api/v1/invitations/{first['id']}/decline", headers=bearer(invitee)
    )
    assert declined.json()["status"] == "declined"
    second = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"]},
    ).json()
    with stack.users.app.state.db.sessions() as session:
        session.execute(
            update(Invitation)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            .where(Invitation.id == second["id"])
        )
        session.commit()
    late = stack.users.post(f"/api/v1/invitations/{second['id']}/accept", headers=bearer(invitee))
    assert late.status_code == 410
    assert late.json()["type"] == "urn:messaging:problem:invitation-expired"
    outgoing = stack.users.get(
        "/api/v1/invitations", headers=bearer(inviter), params={"direction": "outgoing"}
    ).json()
    assert sorted(i["status"] for i in outgoing) == ["declined", "expired"]
    # An overdue invitation nobody looked at does not block a new one.
    third = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"]},
    ).json()
    with stack.users.app.state.db.sessions() as session:
        session.execute(
            update(Invitation)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            .where(Invitation.id == third["id"])
        )
        session.commit()
    fourth = stack.users.post(
        "/api/v1/invitations",
        headers=bearer(inviter),
        json={"invitee_id": invitee_profile["user_id"]},
    )
    assert fourth.status_code == 201, fourth.text


def test_invitation_events_reach_the_broker(stack: Any) -> None:
    """The relay publishes invitation.created to the exchange, with publisher confirms."""
    connection = pika.BlockingConnection(pika.URLParameters(stack.settings.amqp_url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, stack.settings.events_exchange, "invitation.*")
    inviter, _ = stack.user("r_inviter")
    _, invitee = stack.user("r_invitee")
    stack.users.post(
        "/api/v1/invitations", headers=bearer(inviter), json={"invitee_id": invitee["user_id"]}
    )
    for method, properties, _body in channel.consume(queue, inactivity_timeout=15):
        assert method is not None, "invitation.created never reached the broker"
        assert method.routing_key == "invitation.created"
        assert properties.message_id
        break
    connection.close()
