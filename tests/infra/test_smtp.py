"""The SMTP sink from `make infra-up` is real: a sent message lands as a file in its Maildir."""

import mailbox
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest

from tests.conftest import SmtpSettings

pytestmark = pytest.mark.infra


def test_smtp_delivery(smtp_settings: SmtpSettings) -> None:
    token = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = "notifications@platform.test"
    message["To"] = "alice@platform.test"
    message["Subject"] = f"infra check {token}"
    message.set_content(f"Hello Alice, token {token}.")

    with smtplib.SMTP(smtp_settings.host, smtp_settings.port, timeout=5) as smtp:
        refused = smtp.send_message(message)
    assert refused == {}

    box = mailbox.Maildir(smtp_settings.maildir, create=False)
    deadline = time.monotonic() + 5
    found: list[tuple[str, mailbox.MaildirMessage]] = []
    while not found and time.monotonic() < deadline:
        found = [(key, msg) for key, msg in box.iteritems() if token in (msg["Subject"] or "")]
        if not found:
            time.sleep(0.1)
    assert len(found) == 1, f"no message with token {token} in {smtp_settings.maildir}"
    key, stored = found[0]
    try:
        assert stored["X-RcptTo"] == "alice@platform.test"
        assert stored["X-MailFrom"] == "notifications@platform.test"
        assert f"token {token}" in stored.get_payload()
    finally:
        box.remove(key)
