"""Emails from Jinja2 templates (HTML autoescaped, plain text as is) sent over SMTP, with
STARTTLS whenever the server offers it."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifications_service.core.config import Settings


@dataclass(frozen=True)
class Email:
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str
    # Derived from the event, so a redelivered event's mail carries the same Message-ID and
    # mail clients can fold a duplicate.
    message_id: str


class Templates:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("notifications_service", "templates"),
            # Escape in HTML only: the plain-text part is not markup, escaping would garble it.
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )

    def render(self, kind: str, **context: Any) -> tuple[str, str, str]:
        """(subject, text, html) of one kind of email."""
        subject = self.env.get_template(f"{kind}.subject.txt").render(**context)
        subject = " ".join(subject.split())  # one line: no header injection by a user's name
        text = self.env.get_template(f"{kind}.txt").render(**context)
        html = self.env.get_template(f"{kind}.html").render(subject=subject, **context)
        return subject, text, html


class StartTlsRefused(smtplib.SMTPException):
    pass


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tls = ssl.create_default_context(cafile=settings.smtp_ca_file or None)

    def build(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = Address(display_name=email.to_name, addr_spec=email.to_address)
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = email.message_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def send(self, email: Email) -> None:
        """Raise on any failure: the caller's retries and dead-letter queue take it from there."""
        settings = self.settings
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls != "off" and smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            elif settings.smtp_starttls == "require":
                raise StartTlsRefused(f"{settings.smtp_host} does not offer STARTTLS")
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(self.build(email))
