"""Property: a search returns exactly the profiles whose username or display name starts with
the query (case-insensitively, wildcards literal), in username order, across pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from messaging_kit.db import Database
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import fresh_database
from users_service.crud import search
from users_service.models import Profile

pytestmark = pytest.mark.infra

# A small alphabet with LIKE's special characters, so prefixes collide often.
ALPHABET = "aAbB_%\\é"
NAMES = [
    "a", "ab", "a_b", "a%b", "A\\b", "ba", "bb_", "é_a", "Ab%", "b", "aa", "b\\%",
]  # fmt: skip
DISPLAY = ["Zed", "ab cd", "%x", "a_", "B", "éé", "__", "zz", "Ba", "a\\", "q", "AB"]


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    with fresh_database("users_prop") as url:
        upgrade_head("users_service", url)
        database = Database(url)
        with database.sessions() as session:
            for name, display in zip(NAMES, DISPLAY, strict=True):
                session.add(Profile(user_id=uuid.uuid4(), username=name, display_name=display))
            session.commit()
        yield database
        database.close()


@given(
    query=st.text(alphabet=ALPHABET, min_size=1, max_size=3),
    page_size=st.integers(min_value=1, max_value=4),
)
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_search_matches_a_plain_prefix_filter(db: Database, query: str, page_size: int) -> None:
    prefix = query.lower()
    expected = sorted(
        (n for n, d in zip(NAMES, DISPLAY, strict=True)
         if n.lower().startswith(prefix) or d.lower().startswith(prefix)),
        key=lambda name: name.lower().encode(),  # COLLATE "C": byte order
    )  # fmt: skip
    found: list[str] = []
    cursor = None
    with db.sessions() as session:
        for _ in range(len(NAMES) + 1):
            hits, cursor = search(session, uuid.uuid4(), query, limit=page_size, after=cursor)
            found.extend(hit["username"] for hit in hits)
            if cursor is None:
                break
    assert found == expected
