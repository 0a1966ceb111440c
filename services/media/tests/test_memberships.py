"""Access follows the real members of a conversation or group, as messages' and groups'
events tell media over the real broker: joiners gain access, leavers lose it, outsiders
cannot attach, and an older snapshot arriving late changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from media_service.memberships import members_of
from media_service.models import EVENTS
from messaging_testing.infra import wait_for
from sqlalchemy import select

pytestmark = pytest.mark.infra


def ids(*users: uuid.UUID) -> list[str]:
    return [str(user) for user in users]


def knows(media, context: uuid.UUID, *users: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    with media.app.state.db.sessions() as session:
        return members_of(session, context) == set(users)


def upload(media, make_png, user: uuid.UUID, **params) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": ("a.png", make_png())},
        params=params,
        headers=media.headers(user),
        timeout=30,
    )


def can_read(media, media_id: str, user: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    url = f"{media.url}/api/v1/media/{media_id}"
    return httpx.get(url, headers=media.headers(user)).status_code == 200


def test_group_members_follow_groups_events(media, make_png) -> None:  # type: ignore[no-untyped-def]
    wait_for(media.app.state.members.connected.is_set)
    owner, alice, bob, carol = (uuid.uuid4() for _ in range(4))
    group = uuid.uuid4()
    media.publish(
        "group.created", {"group_id": str(group), "name": "g", "recipient_ids": ids(owner, alice)}
    )
    wait_for(lambda: knows(media, group, owner, alice))
    refused = upload(media, make_png, carol, group_id=str(group))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:messaging:problem:not-a-member"

    item = upload(media, make_png, owner, group_id=str(group)).json()
    assert (can_read(media, item["id"], alice), can_read(media, item["id"], bob)) == (True, False)

    added = {"group_id": str(group), "user_id": str(bob), "member_ids": ids(owner, alice, bob)}
    media.publish("group.member.added", {**added, "recipient_ids": added["member_ids"]})
    wait_for(lambda: knows(media, group, owner, alice, bob))
    assert can_read(media, item["id"], bob)

    removed = {"group_id": str(group), "user_id": str(alice), "member_ids": ids(owner, bob)}
    media.publish("group.member.removed", {**removed, "recipient_ids": ids(owner, alice, bob)})
    wait_for(lambda: knows(media, group, owner, bob))
    assert not can_read(media, item["id"], alice)

    # A redelivered older snapshot (alice still in) must not bring her back.
    stale = {"group_id": str(group), "member_ids": ids(owner, alice)}
    media.publish("group.member.added", stale, datetime.now(UTC) - timedelta(minutes=5))
    sentinel = uuid.uuid4()
    media.publish("group.created", {"group_id": str(sentinel), "recipient_ids": ids(owner)})
    wait_for(lambda: knows(media, sentinel, owner))
    assert knows(media, group, owner, bob)
    assert not can_read(media, item["id"], alice)


def test_conversation_members_come_from_messages_events(media, make_png) -> None:  # type: ignore[no-untyped-def]
    wait_for(media.app.state.members.connected.is_set)
    xavier, yann, zoe = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conversation = uuid.uuid4()
    media.publish(
        "message.created",
        {
            "message_id": str(uuid.uuid4()),
            "conversation_id": str(conversation),
            "sender_id": str(xavier),
            "recipient_id": str(yann),
            "recipient_ids": ids(xavier, yann),
        },
    )
    wait_for(lambda: knows(media, conversation, xavier, yann))
    # Naming zoe does not let her in: the conversation's members decide once they are known.
    response = upload(
        media, make_png, xavier, conversation_id=str(conversation), participant_id=[str(zoe)]
    )
    item = response.json()
    assert (can_read(media, item["id"], yann), can_read(media, item["id"], zoe)) == (True, False)
    assert upload(media, make_png, zoe, conversation_id=str(conversation)).status_code == 403


def test_a_known_conversation_costs_no_transaction(media) -> None:  # type: ignore[no-untyped-def]
    """Only a conversation's first message tells media news: the rest are acked before any
    transaction (no processed row), the check reading the database once per conversation."""
    members = media.app.state.members
    wait_for(members.connected.is_set)
    xavier, yann = uuid.uuid4(), uuid.uuid4()
    conversation = uuid.uuid4()
    data = {"conversation_id": str(conversation), "recipient_ids": ids(xavier, yann)}
    for n in range(3):
        media.publish("message.created", {**data, "message_id": str(uuid.uuid4()), "seq": n})
    wait_for(lambda: members.skipped == 2)
    assert knows(media, conversation, xavier, yann)
    table = EVENTS.processed
    with media.app.state.db.sessions() as session:
        consumers = list(session.scalars(select(table.c.consumer)))
    assert consumers == [media.settings.memberships_queue]
