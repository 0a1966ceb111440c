"""The running stack of `make up` (operator, platform, Envoy Gateway, companions) for the
integration tests."""

from __future__ import annotations

import pytest
from testkit.platform import ensure_local_platform


@pytest.fixture(scope="session")
def local_stack() -> None:
    """The platform `make up` runs (testkit.platform): started when part of it is down."""
    ensure_local_platform()
