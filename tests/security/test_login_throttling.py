"""Login throttling, tried as a guesser would: the username and the email are one account, a
guesser at one address slows only themselves, guessing spread over many addresses cannot keep
the owner out (their known address is exempt), and a limit is a back-off of seconds, not a
15-minute lock. Client addresses are loopback ones in X-Forwarded-For (the services trust it
from the gateway's address, here 127.0.0.1)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from messaging_testing.infra import wait_for

from security.stack import PASSWORD, Person, Platform, mail_text, mails_to

pytestmark = pytest.mark.infra


def attempt(platform: Platform, login: str, password: str, address: str) -> Any:
    return platform.http.post(
        platform.url("auth", "/api/v1/auth/login"),
        json={"login": login, "password": password},
        headers={"X-Forwarded-For": address},
    )


def test_the_username_and_the_email_are_one_account(platform: Platform) -> None:
    victim: Person = platform.register()
    platform.verify_email(victim)  # an address names an account once verified
    for index in range(5):  # the limit (5), alternating the two names of the account
        name = victim.username if index % 2 else victim.email.upper()
        assert attempt(platform, name, "wrong guess", "127.0.0.2").status_code == 401
    throttled = attempt(platform, victim.username, "wrong guess", "127.0.0.2")
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert throttled.json()["type"] == "urn:messaging:problem:login-throttled"


def test_a_limit_is_a_short_back_off_not_a_long_lock(platform: Platform) -> None:
    owner = platform.register()
    for _ in range(5):
        attempt(platform, owner.username, "typo typo", "127.0.0.3")
    throttled = attempt(platform, owner.username, PASSWORD, "127.0.0.3")
    assert throttled.status_code == 429
    wait = int(throttled.headers["Retry-After"])
    assert 1 <= wait <= 2, wait  # 2^(failures - limit) seconds, not the 15-minute window
    time.sleep(wait)
    assert attempt(platform, owner.username, PASSWORD, "127.0.0.3").status_code == 200


def test_guessing_from_many_addresses_cannot_keep_the_owner_out(platform: Platform) -> None:
    owner = platform.register()
    home = "127.0.0.4"
    assert attempt(platform, owner.username, PASSWORD, home).status_code == 200  # a known address
    # 24 guesses from 12 addresses: each address under its own limit, the account over its
    # account-wide one (20).
    for index in range(24):
        address = f"127.0.1.{10 + index % 12}"
        assert attempt(platform, owner.username, "guess", address).status_code in (401, 429)
    stranger = attempt(platform, owner.username, PASSWORD, "127.0.1.200")
    assert stranger.status_code == 429, "the account-wide limit holds for new addresses"
    # The owner, from where they logged in before, is not locked out by any of it.
    at_home = attempt(platform, owner.username, PASSWORD, home)
    assert at_home.status_code == 200, at_home.text


def test_one_address_spraying_many_accounts_is_slowed(platform: Platform) -> None:
    sprayer = "127.0.2.1"
    for index in range(50):  # the per-address limit, each on another (unknown) account
        attempt(platform, f"nobody-{index}-{time.time_ns()}", "Summer2026!", sprayer)
    victim = platform.register()
    assert attempt(platform, victim.username, PASSWORD, sprayer).status_code == 429
    # Somebody else's address is not affected.
    assert attempt(platform, victim.username, PASSWORD, "127.0.2.2").status_code == 200


def test_the_owner_is_mailed_an_unlock_link_that_lets_them_in_anywhere(
    platform: Platform,
) -> None:
    owner = platform.register()
    for index in range(24):  # past the account-wide limit (20), from 12 addresses
        attempt(platform, owner.username, "guess", f"127.0.3.{10 + index % 12}")
    new_phone = "127.0.3.200"
    assert attempt(platform, owner.username, PASSWORD, new_phone).status_code == 429

    def unlock_mails() -> list[Any]:
        return [m for m in mails_to(owner.email) if "trying to log in" in str(m["Subject"])]

    [mail] = wait_for(unlock_mails, timeout=30)
    link = re.search(r"https?://\S+/unlock-login\?token=(\S+)", mail_text(mail))
    assert link is not None, mail_text(mail)
    token = link.group(1)
    unlock = platform.url("auth", "/api/v1/auth/unlock")
    opened = platform.http.post(
        unlock, json={"token": token}, headers={"X-Forwarded-For": new_phone}
    )
    assert opened.status_code == 204, opened.text
    assert attempt(platform, owner.username, PASSWORD, new_phone).status_code == 200
    # Single use; and one mail however long the guessing went on.
    again = platform.http.post(unlock, json={"token": token})
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("application/problem+json")
    assert len(unlock_mails()) == 1
