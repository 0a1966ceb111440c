"""Erasure in groups: a real user.deleted on the exchange takes the user out of every group
(an owned group passes to the longest-standing admin, a group of one is deleted), deletes what
they posted and their wrapped key in the others' posts; checked in every table. user.erased
comes back through the outbox, again for a retry."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from groups_service import crud
from groups_service.core.config import Settings
from groups_service.main import create_app
from groups_service.models import EVENTS, Group, GroupInvitation, GroupMessage, Member
from groups_service.schemas import CreateGroup, PostMessage
from messaging_kit.problems import Problem
from messaging_testing.erasure import DatabaseService, database_service, leftovers
from sqlalchemy import select
from sqlalchemy.orm import Session

pytestmark = pytest.mark.infra


Groups = DatabaseService


@pytest.fixture
def groups() -> Iterator[Groups]:
    with database_service("groups_service", Settings, create_app) as service:
        yield service


def group(session, creator: uuid.UUID, *members: tuple[uuid.UUID, str]) -> uuid.UUID:  # type: ignore[no-untyped-def]
    group_id = uuid.uuid4()
    session.add(Group(id=group_id, name="team", created_by=creator))
    session.flush()
    start = datetime.now(UTC) - timedelta(days=10)
    for days, (user, role) in enumerate(members):
        joined = start + timedelta(days=days)
        session.add(Member(group_id=group_id, user_id=user, role=role, joined_at=joined))
    session.flush()
    return group_id


def post(session, group_id: uuid.UUID, sender: uuid.UUID, readers: list[uuid.UUID]) -> uuid.UUID:  # type: ignore[no-untyped-def]
    message_id = uuid.uuid4()
    session.add(
        GroupMessage(
            id=message_id,
            group_id=group_id,
            sender_id=sender,
            idempotency_key=uuid.uuid4().hex,
            content_hash="0" * 64,
            ciphertext=b"opaque",
            nonce=b"nonce",
            keys={str(r): "Zm9y" for r in readers},
        )
    )
    session.flush()
    return message_id


def invite(session, group_id: uuid.UUID, inviter: uuid.UUID, invitee: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    session.add(
        GroupInvitation(
            id=uuid.uuid4(),
            group_id=group_id,
            inviter_id=inviter,
            invitee_id=invitee,
            role="member",
        )
    )
    session.flush()


def test_user_deleted_hands_over_ownership_and_erases_memberships_and_posts(
    groups: Groups,
) -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    with groups.sessions() as session, session.begin():
        # A owns it; C joined before B, but B is the admin: B takes over.
        owned = group(session, a, (a, "owner"), (c, "member"), (b, "admin"), (d, "admin"))
        alone = group(session, a, (a, "owner"))
        joined = group(session, b, (b, "owner"), (a, "member"))
        post(session, owned, a, [a, b, c, d])
        post(session, alone, a, [a])
        kept = post(session, owned, b, [a, b, c, d])
        post(session, joined, b, [a, b])
        # Invitations they sent and received go too (leftovers reads every table).
        invite(session, owned, a, uuid.uuid4())
        invite(session, joined, b, a)
    erasure_id = groups.rig.delete_user(str(a))
    groups.rig.confirmed(erasure_id, "groups")

    assert leftovers(groups.database_url, str(a)) == {}
    with groups.sessions() as session:
        rows = session.execute(select(Member.user_id, Member.role).where(Member.group_id == owned))
        roles = {user: role for user, role in rows}
        assert roles == {b: "owner", c: "member", d: "admin"}
        assert session.get(Group, owned).created_by == b
        assert session.get(Group, alone) is None
        message = session.get(GroupMessage, kept)
        assert message is not None
        assert set(message.keys) == {str(b), str(c), str(d)}
        bodies = session.scalars(
            select(EVENTS.outbox.c.body).where(EVENTS.outbox.c.event_type.like("group.%"))
        ).all()
    changes = {(e["type"], e["data"]["group_id"]) for e in bodies}
    assert changes == {
        ("group.member.role_changed", str(owned)),
        ("group.member.removed", str(owned)),
        ("group.member.removed", str(joined)),
    }
    removed = next(e for e in bodies if e["type"] == "group.member.removed")
    assert removed["data"]["reason"] == "erased"
    assert all(str(a) not in e["data"]["recipient_ids"] for e in bodies)

    groups.rig.delete_user(str(a), erasure_id)  # auth's retry
    groups.rig.confirmed(erasure_id, "groups", count=2)


def test_export_returns_own_groups_and_posts(groups: Groups) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with groups.sessions() as session, session.begin():
        team = group(session, b, (b, "owner"), (a, "admin"))
        post(session, team, a, [a, b])
        post(session, team, b, [a, b])
        other = group(session, b, (b, "owner"))
        invite(session, other, b, a)
    response = groups.client.get("/api/v1/groups/export", headers=groups.issuer.headers(a))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(g["id"], g["role"]) for g in body["groups"]] == [(str(team), "admin")]
    assert len(body["messages_sent"]) == 1
    assert body["messages_sent"][0]["wrapped_key"] == "Zm9y"
    assert [(i["group_id"], i["status"]) for i in body["invitations"]] == [(str(other), "pending")]


def test_after_the_erasure_no_request_names_the_user_again(groups: Groups) -> None:
    """A peer whose client still holds the erased user's id gets a 404 user-not-found, and so
    does a request of the user themself that was in flight (its token checked before the
    revocation arrived: crud called directly); nothing is stored."""
    a, b = uuid.uuid4(), uuid.uuid4()
    with groups.sessions() as session, session.begin():
        team = group(session, b, (b, "owner"), (a, "admin"))
    erasure_id = groups.rig.delete_user(str(a))
    groups.rig.confirmed(erasure_id, "groups")

    def message(*readers: uuid.UUID) -> dict[str, Any]:
        return {
            "idempotency_key": uuid.uuid4().hex,
            "ciphertext": "b3BhcXVl",
            "nonce": "bm9uY2U=",
            "keys": {str(r): "Zm9y" for r in readers},
        }

    base = f"/api/v1/groups/{team}"
    requests = {
        "group with them": ("POST", "/api/v1/groups", {"name": "x", "member_ids": [str(a)]}),
        "add them": ("POST", f"{base}/members", {"user_id": str(a)}),
        "their role": ("PATCH", f"{base}/members/{a}", {"role": "owner"}),
        "a key for them": ("POST", f"{base}/messages", message(a, b)),
    }
    outcomes = {}
    for name, (method, path, body) in requests.items():
        response = groups.client.request(method, path, json=body, headers=groups.issuer.headers(b))
        outcomes[name] = (response.status_code, response.json().get("type", "").split(":")[-1])
    in_flight: dict[str, Callable[[Session], object]] = {
        "group by them": lambda s: crud.create_group(
            s, a, CreateGroup(name="x", member_ids=[b]), 256
        ),
        "a post by them": lambda s: crud.post(s, a, team, PostMessage(**message(b)), 4096),
    }
    for name, call in in_flight.items():
        with groups.sessions() as session:
            try:
                call(session)
                outcomes[name] = (201, "stored")
            except Problem as refused:
                outcomes[name] = (refused.status, refused.slug)
    assert outcomes == {name: (404, "user-not-found") for name in [*requests, *in_flight]}
    assert leftovers(groups.database_url, str(a)) == {}
