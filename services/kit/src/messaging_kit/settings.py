"""Settings every service reads from its environment, validated once at start."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound="ServiceSettings")

# Exit code for a configuration error, as sysexits' EX_USAGE family: not a crash, a bad setup.
EXIT_BAD_SETTINGS = 2


class ServiceSettings(BaseSettings):
    """Base of each service's `core.config.Settings`; names are the upper-cased env vars."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_version: str = "0.1.0"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Seconds uvicorn waits for in-flight requests after SIGTERM before closing them.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Proxies whose X-Forwarded-For is believed (the gateway's addresses, or "*" when only the
    # gateway can reach the pod); the client address drives per-address login throttling.
    forwarded_allow_ips: str = "127.0.0.1"
    # The platform's service credential (messaging_kit.internal): internal endpoints demand
    # it, internal callers send it. Unset: internal endpoints refuse everyone.
    internal_token: str = Field(default="", repr=False)
    # The largest request body any route reads, in bytes (messaging_kit.body_limit); routes
    # that take more (media uploads) say so on their own.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # uvicorn worker processes in this pod, all on one port: a process runs Python on one core
    # at a time (the GIL), so a pod given more than one core serves more with more of them.
    # Each worker has its own pools, relay and consumers; /metrics adds up every worker's.
    workers: int = Field(default=1, ge=1, le=16)


class DatabaseSettings(ServiceSettings):
    database_url: str = Field(pattern=r"^postgresql(\+psycopg2)?://")
    # Connections kept open: sync routes run up to ~40 at a time in the threadpool, and every
    # connection past the pool size is opened and closed per request (15 % of a loaded users
    # process at 16 concurrent requests went into psycopg2.connect with 10).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # A database that does not answer fails a request after this long (503, retryable), instead
    # of stalling it: the connect, and the wait for a pooled connection.
    db_connect_timeout_seconds: int = Field(default=2, ge=2)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)


class TokenSettings(ServiceSettings):
    """Where access tokens come from and who they are for (checked on every request)."""

    token_issuer: str = "messaging-auth"  # noqa: S105 - a name, not a secret
    token_audience: str = "messaging"  # noqa: S105
    # Auth's JWKS, e.g. http://auth:8001/.well-known/jwks.json
    jwks_url: str = Field(pattern=r"^https?://")
    # Revoked principals (messaging_kit.revocations): auth's snapshot, beside the JWKS unless
    # set, reloaded this often; events keep it current in between.
    revocations_enabled: bool = True
    revocations_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    revocations_refresh_seconds: float = Field(default=300.0, ge=1.0)
    # Who blocked whom (messaging_kit.blocks): users' snapshot, e.g.
    # http://users:8002/internal/v1/blocks. Empty: this service does not judge blocks.
    blocks_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    blocks_refresh_seconds: float = Field(default=300.0, ge=1.0)


class EventSettings(ServiceSettings):
    amqp_url: str = Field(pattern=r"^amqps?://")
    events_exchange: str = "messaging.events"


def describe_error(error: ValidationError) -> str:
    """One line naming every bad or missing setting by its environment variable."""
    parts = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper() or "settings"
        reason = "is required" if item["type"] == "missing" else item["msg"]
        parts.append(f"{name} {reason}")
    return "; ".join(parts)


def load_settings(cls: type[SettingsT], service: str) -> SettingsT:
    """Read settings or stop the process with one line on stderr and exit code 2."""
    try:
        return cls()
    except ValidationError as error:
        print(f"messaging-{service}: bad settings: {describe_error(error)}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
