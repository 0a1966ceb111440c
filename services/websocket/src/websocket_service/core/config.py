"""Websocket's settings, from the environment."""

from __future__ import annotations

import socket
from functools import lru_cache

from messaging_kit.settings import EventSettings, TokenSettings, load_settings
from pydantic import Field

from websocket_service import DEFAULT_PORT, SERVICE


class Settings(TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    # One process per replica: the replica's event queue and its sockets belong together (two
    # workers would split one queue's deliveries between them); scale with replicas instead.
    workers: int = Field(default=1, ge=1, le=1)
    redis_url: str = Field(pattern=r"^rediss?://")
    # Shared with relay, which reads presence under the same prefix.
    redis_key_prefix: str = "mp:"
    # /ready fails while Redis keeps no append-only file (messaging_kit.redis_durability):
    # what this service acknowledged to RabbitMQ would not survive a Redis restart.
    redis_require_aof: bool = True
    # Each replica consumes its own queue (named after it) so it sees every event; a stable
    # name (the pod name) lets a restarted replica pick up what it had not yet stored.
    replica_id: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9._-]+$")
    events_queue_prefix: str = "websocket.events"
    # Shared by all replicas and never expiring, unlike the per-replica queues: a user.deleted
    # must wait for websocket however long it is down.
    erasure_queue: str = "websocket.erasure"
    # A replica gone for good leaves its queue behind; RabbitMQ drops it after this long unused.
    queue_expires_seconds: int = Field(default=3600, ge=10)
    # Clients send something at least this often; silence for twice as long closes them.
    heartbeat_seconds: float = Field(default=20.0, gt=0)
    # A connection's presence entry lives this long unless refreshed (a killed replica's
    # users turn offline after it).
    presence_ttl_seconds: float = Field(default=60.0, gt=0)
    # users' internal endpoint saying whose presence a viewer may see (websocket_service.
    # audience); unset, everyone but the viewer is shown offline.
    presence_audience_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    # Frames waiting for one client; if it stays full this long the client is too slow.
    client_buffer_frames: int = Field(default=256, ge=1)
    slow_client_seconds: float = Field(default=2.0, gt=0)
    auth_timeout_seconds: float = Field(default=5.0, gt=0)
    # Open connections are checked against the revocation list this often: a suspended or
    # force-logged-out user's live sockets close within about this long of the event.
    revocation_sweep_seconds: float = Field(default=0.25, gt=0)
    # Per-user event stream kept for resume: at most this many entries, this long idle.
    stream_max_entries: int = Field(default=10_000, ge=100)
    stream_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    dedupe_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    # Safety net: re-read each user's stream this often even without a doorbell.
    poll_seconds: float = Field(default=2.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
