"""Templates and recipients (no servers): HTML escaped, plain text verbatim, subjects one line."""

from __future__ import annotations

import uuid

from notifications_service.core.emails import Templates
from notifications_service.handlers import message_recipients


def test_html_is_escaped_text_is_not_and_the_subject_is_one_line() -> None:
    subject, text, html = Templates().render(
        "welcome",
        display_name="A\r\nBcc: x@y <b>",
        username="a&b",
        app_url="https://chat.example.test",
    )
    assert subject == "Welcome to Messaging, A Bcc: x@y <b>"
    assert "Hello A\r\nBcc: x@y <b>," in text
    assert "A\r\nBcc: x@y &lt;b&gt;" in html
    assert "<strong>a&amp;b</strong>" in html


def test_message_recipients_never_include_the_sender() -> None:
    sender, one, two = (str(uuid.uuid4()) for _ in range(3))
    direct = {"sender_id": sender, "recipient_id": one}
    group = {"sender_id": sender, "recipient_ids": [one, sender, two]}
    assert message_recipients(direct) == [uuid.UUID(one)]
    assert message_recipients(group) == [uuid.UUID(one), uuid.UUID(two)]
    assert message_recipients({"sender_id": sender}) == []
