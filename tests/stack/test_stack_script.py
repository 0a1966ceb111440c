"""hack/stack/stack.sh on a running stack: `up` again is harmless (same processes, nothing
restarted) and `status` names every process on loopback.

Uses the stack `make up` runs (tests/stack/conftest.py runs hack/up.sh if part of it is down).
"""

from __future__ import annotations

import subprocess

import pytest
from testkit.kube import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.infra, pytest.mark.usefixtures("local_stack")]

STACK = str(REPO / "hack/stack/stack.sh")


def status() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACK, "status"], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def running() -> str:
    before = status()
    if before.returncode != 0:
        pytest.fail(
            f"the stack is not fully up:\n{before.stdout}\nstart it with `make up`", pytrace=False
        )
    return before.stdout


def test_up_twice_changes_nothing(running: str) -> None:
    again = subprocess.run([STACK, "up"], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert status().stdout == running


def test_every_process_listens_on_loopback(running: str) -> None:
    rows = [line.split() for line in running.splitlines()[1:]]
    assert len(rows) == 12  # 8 services, legacy, gateway, prometheus, web
    assert all(row[2].startswith("http://127.0.0.1:") for row in rows), running
