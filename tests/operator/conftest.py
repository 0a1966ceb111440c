"""Shared fixtures: platforms built from the shipped samples, so tests and samples cannot drift."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from messaging_operator.spec import Platform, parse_platform

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "manifests" / "samples"


def sample_platform_body(name: str = "minimal.yaml") -> dict[str, Any]:
    for doc in yaml.safe_load_all((SAMPLES / name).read_text()):
        if doc and doc.get("kind") == "MessagingPlatform":
            return doc
    raise AssertionError(f"no MessagingPlatform in {name}")


def _make_platform(
    spec_changes: dict[str, Any] | None = None, sample: str = "minimal.yaml"
) -> Platform:
    body = copy.deepcopy(sample_platform_body(sample))
    body["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 3})
    body["spec"].update(spec_changes or {})
    return parse_platform(body)


@pytest.fixture
def platform() -> Platform:
    return _make_platform()


@pytest.fixture
def make_platform() -> Callable[..., Platform]:
    """Build a platform from a sample with some spec fields replaced."""
    return _make_platform


@pytest.fixture
def generate() -> Callable[[str], str]:
    """A deterministic stand-in for the random secret generator."""
    return lambda kind: f"generated-{kind}"
