"""Erasure in notifications: a real user.deleted on the exchange removes the user's address,
preferences, push targets and their delivery records, digest items for them and about their
messages; checked in every table. user.erased comes back through the (new) outbox relay, again
for a retry; the export shows their own settings without push secrets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from messaging_kit.problems import Problem
from messaging_testing.erasure import erasure_rig, leftovers
from messaging_testing.infra import LiveServer, require_rabbitmq, wait_for
from notifications_service import crud
from notifications_service.models import DigestItem, Preference, PushDelivery, PushTarget, Recipient

pytestmark = pytest.mark.infra


def seed(notifications, a: uuid.UUID, b: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    with notifications.app.state.db.sessions() as session, session.begin():
        for user in (a, b):
            session.add(Recipient(user_id=user, email=f"{user.hex[:8]}@x.test", display_name="x"))
        target = PushTarget(user_id=a, url="http://127.0.0.1:9/hook", secret="s3cret")
        session.add_all([target, Preference(user_id=a, kind="digest", enabled=False)])
        session.flush()
        session.add_all(
            [
                PushDelivery(event_id=uuid.uuid4(), target_id=target.id),
                DigestItem(user_id=a, event_id=uuid.uuid4(), sender_id=b),
                DigestItem(user_id=b, event_id=uuid.uuid4(), sender_id=a),  # about A's message
                DigestItem(user_id=b, event_id=uuid.uuid4(), sender_id=b),
            ]
        )


def test_user_deleted_erases_settings_targets_and_digest_state(
    make_notifications: Callable,
) -> None:
    with erasure_rig(require_rabbitmq()) as rig:
        notifications = make_notifications(events_exchange=rig.exchange)
        a, b = uuid.uuid4(), uuid.uuid4()
        seed(notifications, a, b)
        erasure_id = rig.delete_user(str(a))
        rig.confirmed(erasure_id, "notifications")

        database_url = notifications.settings.database_url
        assert leftovers(database_url, str(a)) == {}
        with notifications.app.state.db.sessions() as session:
            assert session.query(PushDelivery).count() == 0
            assert [i.sender_id for i in session.query(DigestItem).all()] == [b]
            assert session.get(Recipient, b) is not None

        rig.delete_user(str(a), erasure_id)  # auth's retry
        rig.confirmed(erasure_id, "notifications", count=2)


def test_export_shows_own_settings_without_secrets(notifications) -> None:  # type: ignore[no-untyped-def]
    a, b = uuid.uuid4(), uuid.uuid4()
    seed(notifications, a, b)
    response = httpx.get(
        f"{notifications.url}/api/v1/notifications/export", headers=notifications.headers(a)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recipient"]["email"].startswith(a.hex[:8])
    assert body["preferences"]["digest"] is False
    (target,) = body["push_targets"]
    assert target["url"] == "http://127.0.0.1:9/hook"
    assert "secret" not in target
    assert len(body["digest_items"]) == 1


def test_after_the_erasure_no_event_or_request_about_the_user_writes_or_sends(
    make_notifications: Callable, helpers: SimpleNamespace
) -> None:
    """Late events naming the erased user A (as the account, invitee, inviter, sender or
    recipient) send no mail, push nothing and write nothing; A's own requests that were in
    flight (tokens checked before the revocation arrived: crud called directly) get a 404."""
    pushed: list[str] = []
    hooks = FastAPI()

    @hooks.post("/hook/{name}")
    async def hook(name: str, request: Request) -> Response:
        pushed.append(name)
        return Response(status_code=204)

    with erasure_rig(require_rabbitmq()) as rig, LiveServer(hooks) as receiver:
        notifications = make_notifications(events_exchange=rig.exchange)
        a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        with notifications.app.state.db.sessions() as session, session.begin():
            for name, user in (("b", b), ("c", c)):
                url = f"{receiver.url}/hook/{name}"
                session.add(PushTarget(user_id=user, url=url, secret="s3cret"))
        erasure_id = rig.delete_user(str(a))
        rig.confirmed(erasure_id, "notifications")

        refused = {}
        requests: dict[str, Callable] = {
            "preferences": lambda s: crud.set_preferences(s, a, {"push": False}),
            "push target": lambda s: crud.add_push_target(s, a, f"{receiver.url}/hook/a"),
        }
        for name, call in requests.items():
            with notifications.app.state.db.sessions() as session:
                try:
                    call(session)
                    refused[name] = "stored"
                except Problem as problem:
                    refused[name] = problem.slug

        to_a, to_b, to_c = (notifications.address() for _ in range(3))
        account = {"user_id": str(a), "email": to_a, "username": "ann"}
        link = {"verification_url": "https://chat.example.test/verify-email?token=t"}

        def invitation(invitee: uuid.UUID, email: str, inviter: uuid.UUID) -> dict[str, str]:
            return {
                "invitation_id": str(uuid.uuid4()),
                "invitee_id": str(invitee),
                "invitee_email": email,
                "inviter_id": str(inviter),
            }

        def direct(sender: uuid.UUID, recipient: uuid.UUID) -> dict[str, object]:
            return {
                "message_id": str(uuid.uuid4()),
                "conversation_id": str(uuid.uuid4()),
                "sender_id": str(sender),
                "recipient_id": str(recipient),
                "recipient_ids": sorted([str(sender), str(recipient)]),
            }

        for kind, data in (
            ("user.registered", {**account, **link}),
            ("user.verification_requested", {**account, **link}),
            ("invitation.created", invitation(a, to_a, b)),
            ("invitation.created", invitation(b, to_b, a)),
            ("message.created", direct(b, a)),
            ("message.created", direct(a, b)),
        ):
            notifications.publish(helpers.event(kind, data))
        # Not a retry of the erasure as the barrier (it would erase again what slipped in):
        # each consumer handles its queue in order, so once these are through, all are.
        notifications.publish(
            helpers.event("user.registered", {"user_id": str(c), "email": to_c, "username": "c"})
        )
        notifications.publish(helpers.event("message.created", direct(b, c)))
        helpers.wait_for_mail(to_c)
        wait_for(lambda: "c" in pushed)

        assert {
            "refused": refused,
            "mails": {"to A": len(helpers.mails_to(to_a)), "to B": len(helpers.mails_to(to_b))},
            "pushes to B": pushed.count("b"),
            "left of A": leftovers(notifications.settings.database_url, str(a)),
        } == {
            "refused": {name: "user-not-found" for name in requests},
            "mails": {"to A": 0, "to B": 0},
            "pushes to B": 0,
            "left of A": {},
        }
