"""hack/stack/stack.sh on a running platform: `up` again is harmless (same processes, nothing
restarted) and `status` names every process, each on loopback or the real node's bridge.

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


def test_every_process_listens_on_loopback_or_the_bridge(running: str) -> None:
    rows = {row[0]: row[2] for row in (line.split() for line in running.splitlines()[1:])}
    names = {"gateway", "prometheus-targets", "prometheus", "prometheus-forward", "smtp"}
    assert set(rows) == names
    listening = {name: address for name, address in rows.items() if "://" in address}
    # Users on loopback; pods (the operator's analysis, notifications) on the bridge address.
    assert listening["gateway"] == "http://127.0.0.1:8080"
    assert listening["prometheus"] == "http://127.0.0.1:19090"
    assert listening["prometheus-forward"] == "http://198.18.0.1:19090"
    assert listening["smtp"] == "smtp://198.18.0.1:11025"
