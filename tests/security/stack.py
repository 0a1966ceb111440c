"""Helpers of the security suite. The platform as an attacker meets it: real auth, users,
messages, groups and websocket servers (uvicorn on loopback ports, in this process) on real
PostgreSQL, Redis and RabbitMQ, each with the kit's revocation and block feeds, reached only
over HTTP and WebSocket. Each run has its own databases, exchange, queues and Redis prefix."""

from __future__ import annotations

import base64
import json
import mailbox
import os
import re
import uuid
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from messaging_testing.infra import (
    wait_for,
)
from websockets.sync.client import ClientConnection, connect

PASSWORD = "correct horse battery"
# The shared SMTP sink (hack/infra/smtp_sink.py) keeps each mail in a Maildir, its envelope
# recipient in X-RcptTo; every run's addresses are its own.
SMTP_HOST = os.environ.get("MP_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("MP_SMTP_PORT", "11025"))
MAILDIR = Path(
    os.environ.get("MP_SMTP_MAILDIR", str(Path.home() / ".cache" / "messaging-platform" / "smtp"))
)


def mails_to(address: str) -> list[Message]:
    box = mailbox.Maildir(MAILDIR, create=False)
    return [message for _, message in box.iteritems() if message["X-RcptTo"] == address]


def mail_text(message: Message) -> str:
    """The plain-text part of a mail."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else str(payload)
    return ""


@dataclass
class Person:
    id: str
    username: str
    email: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Platform:
    urls: dict[str, str]
    apps: dict[str, Any]
    redis_prefix: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def url(self, service: str, path: str) -> str:
        return f"{self.urls[service]}{path}"

    def register(self, name: str | None = None) -> Person:
        name = name or f"u{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        response = self.http.post(self.url("auth", "/api/v1/auth/register"), json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        person = Person(
            id=data["user"]["id"],
            username=name,
            email=body["email"],
            token=data["tokens"]["access_token"],
            refresh_token=data["tokens"]["refresh_token"],
        )
        # users creates the profile from user.registered.
        profile = self.url("users", "/api/v1/users/me")
        wait_for(lambda: self.http.get(profile, headers=person.headers).status_code == 200)
        return person

    def verify_email(self, person: Person) -> None:
        """Open the link of the welcome mail (from the SMTP sink), as its owner would."""

        def link() -> str | None:
            for mail in mails_to(person.email):
                found = re.search(r"/verify-email\?token=(\S+)", mail_text(mail))
                if found:
                    return found.group(1)
            return None

        token = wait_for(link, timeout=30)
        response = self.http.post(
            self.url("auth", "/api/v1/auth/verify-email"), json={"token": token}
        )
        assert response.status_code == 200, response.text

    def accept_contact(self, owner: Person, other: Person) -> None:
        """`owner` accepts `other` as a contact (in owner's own book): other may then put
        owner into a group directly, and sees owner's presence."""
        response = self.http.post(
            self.url("users", "/api/v1/contacts"), json={"user_id": other.id}, headers=owner.headers
        )
        assert response.status_code in (200, 201), response.text

    def befriend(self, *people: Person) -> None:
        for owner in people:
            for other in people:
                if owner is not other:
                    self.accept_contact(owner, other)

    def block(self, owner: Person, other: Person) -> None:
        response = self.http.put(
            self.url("users", f"/api/v1/contacts/{other.id}/block"), headers=owner.headers
        )
        assert response.status_code in (200, 204), response.text

    def wait_block_known(self, owner: Person, other: Person) -> None:
        """Until every block judge's list has the block (the feed: about a millisecond)."""
        for name in ("groups", "websocket", "media"):
            blocks = self.apps[name].state.blocks
            wait_for(lambda blocks=blocks: blocks.blocks(owner.id, other.id), timeout=5)

    def socket(self, person: Person) -> ClientConnection:
        url = self.urls["websocket"].replace("http", "ws") + "/ws"
        connection = connect(url, open_timeout=5).__enter__()  # closed by the test
        connection.send(json.dumps({"type": "auth", "token": person.token}))
        ready = json.loads(connection.recv(timeout=5))
        assert ready["type"] == "ready", ready
        return connection


def wrapped_keys(*people: Person) -> dict[str, str]:
    return {p.id: base64.b64encode(b"key-for-" + p.id.encode()).decode() for p in people}


def post_body(*readers: Person) -> dict[str, Any]:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "ciphertext": base64.b64encode(os.urandom(32)).decode(),
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "keys": wrapped_keys(*readers),
    }
