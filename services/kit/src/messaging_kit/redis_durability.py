"""Is what a service keeps only in Redis persisted? (services/EVENTS.md, "Durability")

A service acknowledges an event to RabbitMQ (and so lets it go) once Redis took what the event
became: websocket's stream entries and the de-duplication keys that make delivery
exactly-once, relay's offline queues. None of that is in PostgreSQL, so it survives a Redis
restart only through Redis' append-only file: every write reaches the file before Redis
replies (a killed Redis loses nothing), `appendfsync everysec` bounds a machine crash to the
last second. Without it a restart brings back an old snapshot, or nothing, and a redelivered
event passes the de-duplication a second time.

`durable_redis_check` is a readiness check for such services: it fails (the service is not
ready, the reason says why) while Redis runs without an append-only file, unless the service
was told to accept that (`REDIS_REQUIRE_AOF=false`, for throwaway test data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class RedisNotDurableError(RuntimeError):
    """Redis keeps no append-only file: what it took does not survive its restart."""


@dataclass(frozen=True)
class RedisPersistence:
    aof_enabled: bool
    # The last write to the append-only file failed (disk full ...): Redis refuses writes.
    aof_write_failing: bool
    # Still replaying the append-only file after a restart.
    loading: bool

    @property
    def durable(self) -> bool:
        return self.aof_enabled and not self.aof_write_failing


def read_persistence(client: Any) -> RedisPersistence:
    """From `INFO persistence`, which every Redis answers (CONFIG may be disabled)."""
    info = client.info("persistence")
    return RedisPersistence(
        aof_enabled=str(info.get("aof_enabled", "0")) == "1",
        aof_write_failing=str(info.get("aof_last_write_status", "ok")) != "ok",
        loading=str(info.get("loading", "0")) == "1",
    )


NOT_DURABLE = (
    "Redis runs without an append-only file (appendonly no): stream entries and event "
    "de-duplication keys would not survive its restart, so a redelivered event could reach "
    "clients twice. Run Redis with appendonly yes (appendfsync everysec), or set "
    "REDIS_REQUIRE_AOF=false to accept that (test data only)"
)


def check_persistence(persistence: RedisPersistence, *, require_aof: bool) -> None:
    if persistence.aof_write_failing:
        raise RedisNotDurableError(
            "Redis cannot write its append-only file (aof_last_write_status)"
        )
    if require_aof and not persistence.aof_enabled:
        raise RedisNotDurableError(NOT_DURABLE)


def durable_redis_check(client: Any, *, require_aof: bool) -> Callable[[], None]:
    """A readiness check: Redis answers, and keeps an append-only file unless not required."""

    def check() -> None:
        check_persistence(read_persistence(client), require_aof=require_aof)

    return check
