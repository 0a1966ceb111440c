"""Relay's settings, from the environment."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import EventSettings, TokenSettings, load_settings
from pydantic import Field

from relay_service import DEFAULT_PORT, SERVICE


class Settings(TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    redis_url: str = Field(pattern=r"^rediss?://")
    # Same prefix as websocket: relay reads the presence it keeps there.
    redis_key_prefix: str = "mp:"
    # /ready fails while Redis keeps no append-only file (messaging_kit.redis_durability):
    # what this service acknowledged to RabbitMQ would not survive a Redis restart.
    redis_require_aof: bool = True
    events_queue: str = "relay.events"
    # Pending entries older than this are dropped (the history stays in messages/groups).
    entry_ttl_seconds: int = Field(default=7 * 86400, ge=1)
    # A user's queue keeps at most this many entries; the oldest go first.
    max_pending: int = Field(default=10_000, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
