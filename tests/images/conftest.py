"""Fixtures of the image checks (helpers in engine.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from images.engine import Containers


@pytest.fixture
def containers() -> Iterator[Containers]:
    made = Containers()
    yield made
    made.remove_all()
