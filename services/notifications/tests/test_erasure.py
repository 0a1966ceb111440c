"""Erasure in notifications: a real user.deleted on the exchange removes the user's address,
preferences, push targets and their delivery records, digest items for them and about their
messages; checked in every table. user.erased comes back through the (new) outbox relay, again
for a retry; the export shows their own settings without push secrets."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from messaging_kit.erasure_testing import erasure_rig, leftovers
from messaging_kit.testing import require_rabbitmq
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
