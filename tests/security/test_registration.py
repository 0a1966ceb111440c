"""Registration tells nobody whether an email address has an account: registering with a
taken address answers as a fresh one does, the new account works the same, logging in with
the address and the chosen password fails the same, and the address's owner is mailed (the
real SMTP sink), once however often it is tried. A taken username may say so: usernames are
public handles, any account can search them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from messaging_testing.infra import wait_for

from security.stack import PASSWORD, Platform, mails_to

pytestmark = pytest.mark.infra


def register(platform: Platform, username: str, email: str) -> Any:
    return platform.http.post(
        platform.url("auth", "/api/v1/auth/register"),
        json={"email": email, "username": username, "password": PASSWORD},
    )


def shape(response: Any) -> dict[str, Any]:
    """What a client sees, minus what differs between any two registrations."""
    body = response.json()
    return {
        "status": response.status_code,
        "location": response.headers.get("location"),
        "content_type": response.headers["content-type"],
        "user": sorted(body["user"]),
        "tokens": sorted(body["tokens"]),
        "email_verified": body["user"]["email_verified"],
    }


def name() -> str:
    return f"r{uuid.uuid4().hex[:10]}"


def test_a_taken_address_answers_like_a_new_one_and_its_owner_is_told(
    platform: Platform,
) -> None:
    owner = platform.register()
    fresh_address = f"{name()}@example.com"
    probe = register(platform, name(), owner.email.upper())
    fresh = register(platform, name(), fresh_address)
    assert shape(probe) == shape(fresh)
    assert probe.json()["user"]["email"] == owner.email
    # Both accounts work, and show the address as typed.
    for response, address in ((probe, owner.email), (fresh, fresh_address)):
        me = platform.http.get(
            platform.url("auth", "/api/v1/auth/me"),
            headers={"Authorization": f"Bearer {response.json()['tokens']['access_token']}"},
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == address
        assert me.json()["email_verified"] is False
    # The address and the password just chosen open neither (an unverified address names
    # no account), so logging in tells nothing either.
    login = platform.url("auth", "/api/v1/auth/login")
    answers = [
        platform.http.post(login, json={"login": address, "password": PASSWORD})
        for address in (owner.email, fresh_address)
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json()["type"] == answers[1].json()["type"]

    def notices() -> list[Any]:
        return [m for m in mails_to(owner.email) if "tried to create" in str(m["Subject"])]

    [mail] = wait_for(notices, timeout=30)
    assert owner.username in mail.as_string()
    # The fresh address gets its welcome (with its link); the owner gets no welcome for the
    # probe's account, and a second probe within the hour no second notice. A registration
    # after them goes through the same outbox and queue: once its mail is in, theirs are too.
    assert register(platform, name(), owner.email).status_code == 201
    later = platform.register()
    wait_for(lambda: mails_to(later.email) and mails_to(fresh_address), timeout=30)
    assert len(notices()) == 1
    welcomes = [m for m in mails_to(owner.email) if "Welcome" in str(m["Subject"])]
    assert len(welcomes) == 1  # the owner's own, from when they registered


def test_a_taken_username_says_so(platform: Platform) -> None:
    owner = platform.register()
    taken = register(platform, owner.username.upper(), f"{name()}@example.com")
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"] == "urn:messaging:problem:username-taken"
