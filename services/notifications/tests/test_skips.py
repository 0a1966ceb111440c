"""Message events nothing comes of are acked before any transaction (issue #19): a recipient
online (no digest item) and without push targets (no push) costs neither consumer a processed
row; the same event redelivered once the recipient is away is handled, once."""

from __future__ import annotations

import uuid

import pytest
from messaging_testing.infra import wait_for
from notifications_service.models import EVENTS, DigestItem
from sqlalchemy import func, select

pytestmark = pytest.mark.infra


def items(notifications, user_id: uuid.UUID) -> int:  # type: ignore[no-untyped-def]
    with notifications.app.state.db.sessions() as session:
        query = select(func.count()).select_from(DigestItem).filter_by(user_id=user_id)
        return int(session.scalar(query) or 0)


def processed_by(notifications, event_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    table = EVENTS.processed
    with notifications.app.state.db.sessions() as session:
        query = select(table.c.consumer).where(table.c.event_id == event_id)
        return sorted(session.scalars(query))


def test_nothing_to_do_is_acked_without_a_transaction_and_judged_again(
    notifications, helpers
) -> None:  # type: ignore[no-untyped-def]
    emails, pushes = notifications.app.state.emails, notifications.app.state.pushes
    sender, recipient, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    notifications.set_online(recipient)
    first = helpers.direct(sender, recipient)
    notifications.publish(first)
    wait_for(lambda: emails.skipped == 1 and pushes.skipped == 1)
    assert (items(notifications, recipient), processed_by(notifications, first["id"])) == (0, [])

    notifications.set_online(recipient, online=False)
    notifications.publish(first)  # redelivered, the recipient away now: a digest item
    wait_for(lambda: items(notifications, recipient) == 1)
    notifications.publish(first)  # and again: de-duplicated by the processed row
    sentinel = helpers.direct(sender, other)  # behind it in the queue
    notifications.publish(sentinel)
    wait_for(lambda: items(notifications, other) == 1)
    assert items(notifications, recipient) == 1
    assert processed_by(notifications, first["id"]) == [notifications.settings.email_queue]
    # Nobody has a push target: every delivery to the push queue was skipped.
    assert (emails.skipped, pushes.skipped) == (1, 4)
