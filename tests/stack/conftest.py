"""The local stack's gateway configuration (hack/stack/gateway_config.py), imported by path: hack/
is not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_gateway_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gateway_config", REPO / "hack/stack/gateway_config.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gateway_config"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gateway() -> ModuleType:
    return load_gateway_module()
