"""Registering with an address that already has an account: its owner is told by mail (the
real SMTP sink), once however often it is tried; the refusal does not say which of the two
names was taken. (That a refusal tells an address is registered at all is the part still
open: see the README's threat model.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from messaging_kit.testing import wait_for

from security.stack import PASSWORD, Platform, mails_to

pytestmark = pytest.mark.infra


def register(platform: Platform, username: str, email: str) -> Any:
    return platform.http.post(
        platform.url("auth", "/api/v1/auth/register"),
        json={"email": email, "username": username, "password": PASSWORD},
    )


def comparable(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return {**body, "request_id": ""}


def test_the_owner_of_a_taken_address_is_mailed_once(platform: Platform) -> None:
    owner = platform.register()
    probe = register(platform, f"p{uuid.uuid4().hex[:10]}", owner.email.upper())
    assert probe.status_code == 409, probe.text
    assert probe.headers["content-type"].startswith("application/problem+json")
    # A taken username answers alike: the refusal does not say which name was taken.
    name_taken = register(platform, owner.username, f"n{uuid.uuid4().hex[:10]}@example.com")
    assert comparable(name_taken) == comparable(probe)

    def notices() -> list[Any]:
        return [m for m in mails_to(owner.email) if "tried to create" in str(m["Subject"])]

    [mail] = wait_for(notices, timeout=30)
    assert owner.username in mail.as_string()
    # Probing again within the hour sends nothing more.
    assert register(platform, f"q{uuid.uuid4().hex[:10]}", owner.email).status_code == 409
    # A registration after it goes through the same outbox and queue: once its welcome mail
    # is in, a second notice would have been too.
    later = platform.register()
    wait_for(lambda: mails_to(later.email), timeout=30)
    assert len(notices()) == 1
