"""peering.yields_to_a_peer: read kopf's peering record as kopf does (who pauses whom)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from messaging_operator.peering import yields_to_a_peer

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def peer(priority: int, seen_ago: float, lifetime: int = 12) -> dict[str, object]:
    lastseen = (NOW - timedelta(seconds=seen_ago)).isoformat()
    return {"priority": priority, "lastseen": lastseen, "lifetime": lifetime}


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        ({}, False),  # alone
        ({"b": peer(100, 1)}, False),  # a live peer below us
        ({"b": peer(300, 1)}, True),  # a live peer above us
        ({"b": peer(200, 1)}, True),  # a tie pauses both, as kopf does
        ({"b": peer(300, 13)}, False),  # above us but past its lifetime: dead
        ({"b": peer(300, 50, lifetime=60)}, True),  # a longer lifetime keeps it alive
        ({"b": {"priority": 300}}, False),  # no lastseen: not a record we can read
    ],
)
def test_who_yields(others: dict[str, object], expected: bool) -> None:
    status = {"me": peer(200, 0), **others}
    assert yields_to_a_peer(status, "me", 200, NOW) is expected


def test_its_own_record_never_pauses_it() -> None:
    assert not yields_to_a_peer({"me": peer(200, 0)}, "me", 200, NOW)


def test_naive_timestamps_are_utc() -> None:
    naive = {"priority": 300, "lastseen": "2026-12-07T11:59:59", "lifetime": 12}
    assert yields_to_a_peer({"b": naive}, "me", 200, NOW)
