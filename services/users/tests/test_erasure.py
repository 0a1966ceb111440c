"""Erasure in users: a real user.deleted on the exchange leaves no row of the user in users'
database (checked in every table), user.erased comes back through the outbox, a retry of the
same erasure confirms again; and the export returns the caller's own rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from messaging_testing.erasure import DatabaseService, database_service, leftovers
from messaging_testing.infra import wait_for
from users_service.core.config import Settings
from users_service.main import create_app
from users_service.models import Contact, DeviceKey, Invitation, Profile

pytestmark = pytest.mark.infra


Users = DatabaseService
KEY = "A" * 43 + "="  # an X25519 public key's shape (32 bytes, base64)


@pytest.fixture
def users() -> Iterator[Users]:
    with database_service("users_service", Settings, create_app) as service:
        yield service


def seed(users: Users) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A (to be erased) with a device key, contacts, blocks and invitations both ways; B and C
    keep theirs."""
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    later = datetime.now(UTC) + timedelta(days=1)
    with users.sessions() as session, session.begin():
        for user, name in ((a, "alice"), (b, "bob"), (c, "carol")):
            session.add(Profile(user_id=user, username=f"{name}{user.hex[:6]}", display_name=name))
        session.flush()
        session.add_all(
            [
                DeviceKey(user_id=a, device_id=uuid.uuid4(), algorithm="X25519", public_key=KEY),
                DeviceKey(user_id=b, device_id=uuid.uuid4(), algorithm="X25519", public_key=KEY),
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
    assert set(leftovers(users.database_url, str(b))) >= {
        "contacts.owner_id",
        "profiles.user_id",
        "device_keys.user_id",
    }
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
    assert [d["algorithm"] for d in body["device_keys"]] == ["X25519"]
    assert users.client.get("/api/v1/users/export").status_code == 401


def profile_exists(users: Users, user: uuid.UUID) -> bool:
    with users.sessions() as session:
        return session.get(Profile, user) is not None


def test_after_the_erasure_nothing_brings_the_user_back(users: Users) -> None:
    """A late user.registered, a contact, a block, an invitation or an accepted invitation
    naming the erased user: refused or skipped, and no row of theirs comes back. (Their own
    requests are refused by the revocation list before any of this.)"""
    a, b, c = seed(users)
    with users.sessions() as session, session.begin():
        pending = Invitation(
            inviter_id=a, invitee_id=b, expires_at=datetime.now(UTC) + timedelta(1)
        )
        session.add(pending)
    erasure_id = users.rig.delete_user(str(a))
    users.rig.confirmed(erasure_id, "users")

    registered = {"user_id": str(a), "username": "alice-again", "email": "alice@example.test"}
    users.rig.publish("user.registered", "auth", registered)  # redelivered after the deletion
    as_b = users.issuer.headers(b)
    refused = [
        users.client.post("/api/v1/contacts", headers=as_b, json={"user_id": str(a)}),
        users.client.put(f"/api/v1/contacts/{a}/block", headers=as_b),
        users.client.post("/api/v1/invitations", headers=as_b, json={"invitee_id": str(a)}),
        users.client.post(f"/api/v1/invitations/{pending.id}/accept", headers=as_b),
    ]
    assert [r.status_code for r in refused[:3]] == [404, 404, 404], [r.text for r in refused]
    assert all(r.json()["type"].endswith(":user-not-found") for r in refused[:3])
    assert refused[3].status_code == 404  # the erasure took the invitation with it

    # A registration after it: the consumer handles its queue in order, so once this profile
    # exists, the replay was handled. (A retry of the erasure would not do: it would delete
    # what the replay wrote.)
    d = uuid.uuid4()
    users.rig.publish("user.registered", "auth", {"user_id": str(d), "username": f"d{d.hex[:8]}"})
    wait_for(lambda: profile_exists(users, d))
    assert leftovers(users.database_url, str(a)) == {}
    assert "profiles.user_id" in leftovers(users.database_url, str(c))
