"""Erasure in groups: a real user.deleted on the exchange takes the user out of every group
(an owned group passes to the longest-standing admin, a group of one is deleted), deletes what
they posted and their wrapped key in the others' posts; checked in every table. user.erased
comes back through the outbox, again for a retry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from groups_service.core.config import Settings
from groups_service.main import create_app
from groups_service.models import EVENTS, Group, GroupMessage, Member
from messaging_kit.erasure_testing import (
    ErasureRig,
    TokenIssuer,
    erasure_rig,
    jwks_server,
    leftovers,
)
from messaging_kit.migrations import upgrade_head
from messaging_kit.testing import delete_broker_objects, fresh_database, require_rabbitmq, wait_for
from sqlalchemy import select

pytestmark = pytest.mark.infra


@dataclass
class Groups:
    client: TestClient
    database_url: str
    rig: ErasureRig
    issuer: TokenIssuer

    def sessions(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.db.sessions()  # type: ignore[attr-defined]


@pytest.fixture
def groups() -> Iterator[Groups]:
    amqp_url = require_rabbitmq()
    issuer = TokenIssuer()
    queue = f"test.groups.{uuid.uuid4().hex[:8]}"
    with (
        jwks_server(issuer) as jwks_url,
        fresh_database("groups") as database_url,
        erasure_rig(amqp_url) as rig,
    ):
        upgrade_head("groups_service", database_url)
        settings = Settings(
            database_url=database_url,
            amqp_url=amqp_url,
            jwks_url=jwks_url,
            events_exchange=rig.exchange,
            events_queue=queue,
        )
        try:
            with TestClient(create_app(settings)) as client:
                wait_for(client.app.state.consumer.connected.is_set)  # type: ignore[attr-defined]
                yield Groups(client, database_url, rig, issuer)
        finally:
            delete_broker_objects(amqp_url, queues=(queue, f"{queue}.dead"))


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
    erasure_id = groups.rig.delete_user(str(a))
    groups.rig.confirmed(erasure_id, "groups")

    assert leftovers(groups.database_url, str(a)) == {}
    with groups.sessions() as session:
        roles = dict(
            session.execute(select(Member.user_id, Member.role).where(Member.group_id == owned))
        )
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
    response = groups.client.get("/api/v1/groups/export", headers=groups.issuer.headers(a))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(g["id"], g["role"]) for g in body["groups"]] == [(str(team), "admin")]
    assert len(body["messages_sent"]) == 1
    assert body["messages_sent"][0]["wrapped_key"] == "Zm9y"
