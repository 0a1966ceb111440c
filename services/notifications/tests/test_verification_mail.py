"""The email verification link through the real broker and the real SMTP sink: in the welcome
mail when `user.registered` carries it, and alone for `user.verification_requested`."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.infra
LINK = "http://127.0.0.1:8080/verify-email?token=abc-123_XYZ"


def bodies(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_the_welcome_mail_carries_the_link_and_a_resend_mails_it_alone(
    notifications, helpers
) -> None:  # type: ignore[no-untyped-def]
    address, user_id = notifications.address(), str(uuid.uuid4())
    person = {"user_id": user_id, "email": address, "username": "vera", "display_name": "Vera"}
    notifications.publish(helpers.event("user.registered", {**person, "verification_url": LINK}))
    [welcome] = helpers.wait_for_mail(address)
    assert f"Please confirm your email address: {LINK}" in bodies(welcome)["text/plain"]
    assert f'<a href="{LINK}">' in bodies(welcome)["text/html"]

    again = "http://127.0.0.1:8080/verify-email?token=second"
    notifications.publish(
        helpers.event("user.verification_requested", {**person, "verification_url": again})
    )
    mails = helpers.wait_for_mail(address, count=2)
    [resent] = [mail for mail in mails if mail["Subject"].startswith("Confirm")]
    assert again in bodies(resent)["text/plain"]
    assert LINK not in bodies(resent)["text/plain"]


def test_a_welcome_without_a_link_or_with_a_strange_one_has_no_link(notifications, helpers) -> None:  # type: ignore[no-untyped-def]
    address = notifications.address()
    notifications.publish(
        helpers.event(
            "user.registered",
            {
                "user_id": str(uuid.uuid4()),
                "email": address,
                "username": "walt",
                "verification_url": "javascript:alert(1)",
            },
        )
    )
    [welcome] = helpers.wait_for_mail(address)
    assert "confirm your email" not in bodies(welcome)["text/plain"]
    assert "javascript:" not in bodies(welcome)["text/html"]
