"""Email through the real broker and the real SMTP sink: welcome and invitation mails with
both parts and escaped user input, opt-outs respected, SMTP failure parked with its reason."""

from __future__ import annotations

import uuid

import httpx
import pytest
from messaging_testing.infra import free_port

pytestmark = pytest.mark.infra
EVIL = '<script>alert("x")</script> & Bob'


def parts(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_welcome_mail_has_both_parts_and_escapes_user_input(notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    address, user_id = notifications.address(), uuid.uuid4()
    registered = helpers.event(
        "user.registered",
        {"user_id": str(user_id), "email": address, "username": "bob", "display_name": EVIL},
    )
    notifications.publish(registered)
    [mail] = helpers.wait_for_mail(address)
    assert mail.get_content_type() == "multipart/alternative"
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Bob" in body["text/html"]
    assert "<script>" not in body["text/html"]
    assert f"Hello {EVIL}," in body["text/plain"]  # plain text is not markup
    assert mail["Subject"] == f"Welcome to Messaging, {EVIL}"
    assert mail["Message-ID"] == f"<{registered['id']}.welcome@platform.test>"
    assert mail["X-MailFrom"] == "no-reply@platform.test"


def test_invitation_mail_and_opt_out(notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    opted_out, opted_in = uuid.uuid4(), uuid.uuid4()
    quiet, loud = notifications.address(), notifications.address()
    response = httpx.patch(
        f"{notifications.url}/api/v1/notifications/preferences",
        json={"invitation": False},
        headers=notifications.headers(opted_out),
    )
    assert response.status_code == 200
    assert response.json() == {"welcome": True, "invitation": False, "digest": True, "push": True}
    for invitee, address in ((opted_out, quiet), (opted_in, loud)):
        notifications.publish(
            helpers.event(
                "invitation.created",
                {
                    "invitation_id": str(uuid.uuid4()),
                    "inviter_id": str(uuid.uuid4()),
                    "inviter_display_name": "<b>Eve</b>",
                    "invitee_id": str(invitee),
                    "invitee_email": address,
                    "expires_at": "2026-12-02T10:00:00+00:00",
                },
            )
        )
    # One consumer handles the queue in order: once the later mail is in, the first is done.
    [mail] = helpers.wait_for_mail(loud)
    assert mail["Subject"] == "<b>Eve</b> invited you to chat"
    body = parts(mail)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in body["text/html"]
    assert "before 2026-12-02" in body["text/plain"]
    assert helpers.mails_to(quiet) == []


def test_an_smtp_failure_ends_in_the_dead_letter_queue_with_the_reason(  # type: ignore[no-untyped-def]
    make_notifications, helpers
) -> None:
    # Nothing listens on this port: every attempt is refused.
    notifications = make_notifications(smtp_port=free_port(), delivery_attempts=3)
    registered = helpers.event(
        "user.registered",
        {"user_id": str(uuid.uuid4()), "email": notifications.address(), "username": "carol"},
    )
    notifications.publish(registered)
    properties, body = helpers.parked(notifications.settings, notifications.settings.email_queue)
    assert properties.headers["x-dead-reason"].startswith("handler failed: ConnectionRefusedError")
    assert properties.headers["x-original-routing-key"] == "user.registered"
    assert registered["id"].encode() in body
