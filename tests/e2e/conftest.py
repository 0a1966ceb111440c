"""The end-to-end suite's fixtures: the gateway (the stack of `make up`, started with hack/up.sh
when part of it is down, unless E2E_GATEWAY_URL names another gateway), users registered
through it, the SMTP sink's mail files and, for the no-plaintext check, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit.kube import CACHE
from testkit.platform import ensure_local_platform

from e2e.kit import GATEWAY, User, gateway_client, register

REPO = Path(__file__).resolve().parents[2]
START = "start the platform with `make up`"


@pytest.fixture(scope="session")
def gateway() -> Iterator[httpx.Client]:
    if "E2E_GATEWAY_URL" not in os.environ:
        ensure_local_platform()
    with gateway_client() as http:
        try:
            answer = http.get("/api/v1/auth/jwks.json")
        except httpx.TransportError as error:
            pytest.fail(f"no gateway at {GATEWAY} ({error}): {START}", pytrace=False)
        if answer.status_code != 200 or "keys" not in answer.json():
            pytest.fail(
                f"{GATEWAY}/api/v1/auth/jwks.json answered {answer.status_code} "
                f"{answer.text[:200]}: auth is not served through the gateway; {START}",
                pytrace=False,
            )
        yield http


@pytest.fixture(scope="module")
def alice(gateway: httpx.Client) -> User:
    return register(gateway, "alice")


@pytest.fixture(scope="module")
def bob(gateway: httpx.Client) -> User:
    return register(gateway, "bob")


@pytest.fixture(scope="module")
def carol(gateway: httpx.Client) -> User:
    return register(gateway, "carol")


# --- the SMTP sink ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def maildir() -> Path:
    default = CACHE / "stack" / "mail"  # the sink the platform of `make up` mails to
    # Not MP_SMTP_MAILDIR (hack/infra.sh's sink, which the services' own suites use): the
    # platform's notifications mails the sink of hack/stack/stack.sh.
    folder = Path(os.environ.get("E2E_MAILDIR", str(default))) / "new"
    if not folder.is_dir():
        pytest.fail(f"no SMTP sink mail folder at {folder}: run `make up`", pytrace=False)
    return folder


# --- PostgreSQL (only for the no-plaintext check) --------------------------------------------
