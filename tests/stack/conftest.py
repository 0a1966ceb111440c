"""The local stack: its gateway configuration (hack/stack/gateway_config.py, imported by path: hack/
is not a package) and the running stack of `make up` for the integration tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from testkit.platform import ensure_local_platform

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


@pytest.fixture(scope="session")
def local_stack() -> None:
    """The platform `make up` runs (testkit.platform): started when part of it is down."""
    ensure_local_platform()
