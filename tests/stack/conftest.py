"""The local stack: its gateway configuration (hack/stack/gateway_config.py, imported by path: hack/
is not a package) and the running stack of `make up` for the integration tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from testkit.kube import CACHE

REPO = Path(__file__).resolve().parents[2]


def load_stack_module(name: str) -> ModuleType:
    """hack/stack/<name>.py as the module <name>."""
    spec = importlib.util.spec_from_file_location(name, REPO / f"hack/stack/{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gateway() -> ModuleType:
    return load_stack_module("gateway_config")


@pytest.fixture(scope="session")
def gateway_process(gateway: ModuleType) -> ModuleType:
    """hack/stack/gateway.py, the controller and its HAProxy (imports gateway_config)."""
    return load_stack_module("gateway")


def _quiet(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def _stack_missing() -> str | None:
    """What of `make up`'s stack is not running, or None."""
    if _quiet(str(REPO / "hack/stack/stack.sh"), "status").returncode != 0:
        return "a stack process"
    pid_file = CACHE / "operator.pid"
    if not pid_file.exists() or _quiet("kill", "-0", pid_file.read_text().strip()).returncode:
        return "the operator"
    return None


@pytest.fixture(scope="session")
def local_stack() -> None:
    """The stack `make up` runs: used when it runs, started (hack/up.sh) when part of it is down.
    The infrastructure and the control plane are not started here: they must already run."""
    for script, target in (("hack/infra.sh", "infra-up"), ("hack/cluster.sh", "cluster-up")):
        if _quiet(str(REPO / script), "status").returncode != 0:
            pytest.fail(f"{script} status: not everything runs; run `make {target}`", pytrace=False)
    missing = _stack_missing()
    if missing is None:
        return
    started = _quiet(str(REPO / "hack/up.sh"), timeout=900)
    if started.returncode != 0 or _stack_missing():
        tail = "\n".join((started.stdout + started.stderr).splitlines()[-40:])
        pytest.fail(
            f"{missing} was down and hack/up.sh could not bring the stack up:\n{tail}\n"
            "fix the cause and run `make up`",
            pytrace=False,
        )
