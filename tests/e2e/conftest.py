"""The end-to-end suite's fixtures: the gateway (the stack of `make up`, started with hack/up.sh
when part of it is down, unless E2E_GATEWAY_URL names another gateway), users registered
through it, the SMTP sink's mail files and, for the no-plaintext check, PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit.kube import CACHE

from e2e.kit import GATEWAY, User, gateway_client, register

REPO = Path(__file__).resolve().parents[2]
START = "start the platform with `make up`"


def _quiet(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def _stack_missing() -> str | None:
    if _quiet(str(REPO / "hack/stack/stack.sh"), "status").returncode != 0:
        return "a host-side process (gateway, Prometheus, SMTP sink)"
    if _quiet(str(REPO / "hack/node.sh"), "status").returncode != 0:
        return "the real node"
    return None


def _local_stack() -> None:
    """The platform `make up` runs as pods: the control plane must run; the rest is started."""
    if _quiet(str(REPO / "hack/cluster.sh"), "status").returncode != 0:
        pytest.fail(
            "hack/cluster.sh status: the control plane is down; run `make cluster-up`",
            pytrace=False,
        )
    missing = _stack_missing()
    if missing is None:
        return
    started = _quiet(str(REPO / "hack/up.sh"), timeout=1800)
    if started.returncode != 0 or _stack_missing():
        tail = "\n".join((started.stdout + started.stderr).splitlines()[-40:])
        pytest.fail(
            f"{missing} was down and hack/up.sh could not bring the platform up:\n{tail}\n"
            "fix the cause and run `make up`",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def gateway() -> Iterator[httpx.Client]:
    if "E2E_GATEWAY_URL" not in os.environ:
        _local_stack()
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
    folder = Path(os.environ.get("MP_SMTP_MAILDIR", str(default))) / "new"
    if not folder.is_dir():
        pytest.fail(f"no SMTP sink mail folder at {folder}: run `make up`", pytrace=False)
    return folder


# --- PostgreSQL (only for the no-plaintext check) --------------------------------------------
