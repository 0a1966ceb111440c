"""Erasure in users: a real user.deleted on the exchange leaves no row of the user in users'
database (checked in every table), user.erased comes back through the outbox, a retry of the
same erasure confirms again; and the export returns the caller's own rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from messaging_kit.erasure_testing import (
    ErasureRig,
    TokenIssuer,
    erasure_rig,
    jwks_server,
    leftovers,
)
from messaging_kit.migrations import upgrade_head
from messaging_kit.testing import (
    delete_broker_objects,
    fresh_database,
    require_rabbitmq,
    wait_for,
)
from users_service.core.config import Settings
from users_service.main import create_app
from users_service.models import Contact, Invitation, Profile

pytestmark = pytest.mark.infra


@dataclass
class Users:
    client: TestClient
    database_url: str
    rig: ErasureRig
    issuer: TokenIssuer


@pytest.fixture
def users() -> Iterator[Users]:
    amqp_url = require_rabbitmq()
    issuer = TokenIssuer()
    queue = f"test.users.{uuid.uuid4().hex[:8]}"
    with (
        jwks_server(issuer) as jwks_url,
        fresh_database("users") as database_url,
        erasure_rig(amqp_url) as rig,
    ):
        upgrade_head("users_service", database_url)
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
                yield Users(client, database_url, rig, issuer)
        finally:
            delete_broker_objects(amqp_url, queues=(queue, f"{queue}.dead"))


def seed(users: Users) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A (to be erased) with contacts, blocks and invitations both ways; B and C keep theirs."""
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    later = datetime.now(UTC) + timedelta(days=1)
    with users.client.app.state.db.sessions() as session, session.begin():  # type: ignore[attr-defined]
        for user, name in ((a, "alice"), (b, "bob"), (c, "carol")):
            session.add(Profile(user_id=user, username=f"{name}{user.hex[:6]}", display_name=name))
        session.flush()
        session.add_all(
            [
                Contact(owner_id=a, contact_id=b, status="accepted"),
                Contact(owner_id=b, contact_id=a, status="accepted"),
                Contact(owner_id=c, contact_id=a, status="blocked"),
                Contact(owner_id=a, contact_id=c, status="blocked"),
                Contact(owner_id=b, contact_id=c, status="accepted"),
                Invitation(inviter_id=a, invitee_id=c, expires_at=later),
                Invitation(inviter_id=b, invitee_id=a, expires_at=later, status="declined"),
                Invitation(inviter_id=c, invitee_id=b, expires_at=later),
            ]
        )
    return a, b, c


def test_user_deleted_erases_every_row_and_confirms_each_time(users: Users) -> None:
    a, b, c = seed(users)
    assert leftovers(users.database_url, str(a))  # the check sees the seeded rows

    erasure_id = users.rig.delete_user(str(a))
    users.rig.confirmed(erasure_id, "users")
    assert leftovers(users.database_url, str(a)) == {}
    # The others keep what is theirs alone.
    assert set(leftovers(users.database_url, str(b))) >= {"contacts.owner_id", "profiles.user_id"}
    assert "invitations.inviter_id" in leftovers(users.database_url, str(c))

    # auth retries the same erasure (a new event id): it runs again and confirms again.
    users.rig.delete_user(str(a), erasure_id)
    confirmations = users.rig.confirmed(erasure_id, "users", count=2)
    assert confirmations[1] == {"user_id": str(a), "erasure_id": erasure_id, "service": "users"}
    assert leftovers(users.database_url, str(a)) == {}


def test_export_returns_own_profile_contacts_and_invitations(users: Users) -> None:
    a, b, c = seed(users)
    response = users.client.get("/api/v1/users/export", headers=users.issuer.headers(a))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service"] == "users"
    assert body["user_id"] == str(a)
    assert body["profile"]["display_name"] == "alice"
    assert {(x["contact_id"], x["status"]) for x in body["contacts"]} == {
        (str(b), "accepted"),
        (str(c), "blocked"),
    }
    assert len(body["invitations"]) == 2
    assert users.client.get("/api/v1/users/export").status_code == 401
