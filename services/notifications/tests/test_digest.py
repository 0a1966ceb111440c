"""Digests through the real broker, Redis presence and the SMTP sink: a user away longer than
the setting gets one mail about what arrived; an online user, or one back before the digest
went out, gets none; opting out stops them."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from messaging_testing.infra import wait_for
from notifications_service.models import DigestItem
from sqlalchemy import func, select

pytestmark = pytest.mark.infra


def register(notifications, helpers, name: str) -> tuple[uuid.UUID, str]:  # type: ignore[no-untyped-def]
    user_id, address = uuid.uuid4(), notifications.address()
    notifications.publish(
        helpers.event(
            "user.registered",
            {"user_id": str(user_id), "email": address, "username": "u", "display_name": name},
        )
    )
    helpers.wait_for_mail(address)  # the welcome
    return user_id, address


def items(notifications, user_id: uuid.UUID, **where) -> int:  # type: ignore[no-untyped-def]
    with notifications.app.state.db.sessions() as session:
        query = select(func.count()).select_from(DigestItem).filter_by(user_id=user_id, **where)
        count: int = session.scalar(query)
        return count


def test_a_user_away_gets_one_digest_an_online_one_none(make_notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(digest_offline_seconds=1, digest_interval_seconds=0.3)
    away, away_address = register(notifications, helpers, "Ann")
    online, online_address = register(notifications, helpers, "Olaf")
    sender, _ = register(notifications, helpers, "<i>Sam</i>")
    notifications.set_online(online)
    for recipient in (away, online):
        notifications.publish(helpers.direct(sender, recipient))
    notifications.publish(
        helpers.event(
            "group.message.created",
            {
                "message_id": str(uuid.uuid4()),
                "group_id": str(uuid.uuid4()),
                "sender_id": str(sender),
                "recipient_ids": [str(away), str(online), str(sender)],
            },
        )
    )
    mails = helpers.wait_for_mail(away_address, count=2)
    [digest] = [mail for mail in mails if "away" in mail["Subject"]]
    assert digest["Subject"] == "2 new messages while you were away"
    text = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in digest.walk()
        if not part.is_multipart()
    }
    assert "2 new messages from <i>Sam</i>." in text["text/plain"]
    assert "<strong>&lt;i&gt;Sam&lt;/i&gt;</strong>" in text["text/html"]
    # Online the whole time: nothing was even queued for Olaf, and the sender is not told.
    assert items(notifications, online) == 0
    assert items(notifications, sender) == 0
    assert len(helpers.mails_to(online_address)) == 1
    # Sent items are not sent again.
    time.sleep(1)
    assert len(helpers.mails_to(away_address)) == 2


def test_back_online_before_the_digest_means_no_digest(make_notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(digest_offline_seconds=30, digest_interval_seconds=0.3)
    user, address = register(notifications, helpers, "Back")
    notifications.set_online(user, False)  # just left: last seen now
    notifications.publish(helpers.direct(uuid.uuid4(), user))
    wait_for(lambda: items(notifications, user) == 1)
    notifications.set_online(user)
    wait_for(lambda: items(notifications, user) == 0, timeout=10)
    assert len(helpers.mails_to(address)) == 1  # the welcome only


def test_digest_opt_out(make_notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    notifications = make_notifications(digest_offline_seconds=1, digest_interval_seconds=0.3)
    user, _ = register(notifications, helpers, "Quiet")
    httpx.patch(
        f"{notifications.url}/api/v1/notifications/preferences",
        json={"digest": False},
        headers=notifications.headers(user),
    ).raise_for_status()
    notifications.publish(helpers.direct(uuid.uuid4(), user))
    sentinel = uuid.uuid4()
    notifications.publish(helpers.direct(user, sentinel))
    wait_for(lambda: items(notifications, sentinel) == 1)
    assert items(notifications, user) == 0
