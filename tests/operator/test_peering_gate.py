"""peering.yields_to_a_peer: read kopf's peering record as kopf does (who pauses whom)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from messaging_operator.peering import OWN_ID, PeerGate, yields_to_a_peer

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


class RecordReader:
    """Stands in for the API server's copy of the peering record (what PeerGate reads)."""

    def __init__(self) -> None:
        self.status: dict[str, object] = {}
        self.reads = 0

    async def get(self, kind: str, namespace: str | None, name: str) -> dict[str, object]:
        self.reads += 1
        return {"status": self.status}


def test_active_is_trusted_briefly_and_paused_is_never_cached() -> None:
    async def scenario() -> None:
        reader = RecordReader()
        gate = PeerGate(reader, "peering", 200, clusterwide=True)  # type: ignore[arg-type]
        now = datetime.now(UTC)
        higher = {"priority": 300, "lastseen": now.isoformat(), "lifetime": 12}
        reader.status = {OWN_ID: {"priority": 200, "lastseen": now.isoformat()}, "b": higher}
        assert not await gate.active("ns")
        reader.status = {OWN_ID: {"priority": 200, "lastseen": now.isoformat()}}
        assert await gate.active("ns")  # the peer left: seen at once, nothing cached
        assert await gate.active("ns")
        assert reader.reads == 2  # the second "active" came from the cache

    asyncio.run(scenario())


def test_standalone_is_always_active_and_reads_nothing() -> None:
    reader = RecordReader()
    gate = PeerGate(reader, "", 0, clusterwide=True)  # type: ignore[arg-type]
    assert asyncio.run(gate.active("ns"))
    assert reader.reads == 0
