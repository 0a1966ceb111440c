"""Auth's settings, from the environment (see services/README.md for the full list)."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import DatabaseSettings, EventSettings, load_settings
from pydantic import Field

from auth_service import DEFAULT_PORT, SERVICE


class Settings(DatabaseSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    redis_url: str = Field(pattern=r"^rediss?://")

    token_issuer: str = "messaging-auth"  # noqa: S105 - a name, not a secret
    token_audience: str = "messaging"  # noqa: S105
    # A mounted Secret: one PEM private key (Ed25519 or P-256) per file, named <kid>.pem.
    signing_keys_dir: str
    # The kid that signs new tokens; the others stay published for verification during a
    # rotation. Empty: the last kid in sort order (name keys by date, e.g. 2026-11-25.pem).
    active_key_id: str = ""
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=60)

    # argon2id cost, OWASP's baseline (19 MiB, 2 passes, 1 lane): ~60 ms a hash on one core,
    # so a 2-core pod still serves dozens of logins a second. Raising any of these rehashes
    # each password at its next login.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Failures before the back-off: one account from one address, one account from anywhere
    # (addresses it logged in from before are exempt), one address for any account.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_account_all_addresses: int = Field(default=20, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_throttle_window_seconds: int = Field(default=900, ge=1)
    login_max_backoff_seconds: int = Field(default=900, ge=1)
    # A mailed unlock link (auth_service.unlock) works this long; one mail per account per ttl.
    login_unlock_ttl_seconds: int = Field(default=3600, ge=60)
    redis_key_prefix: str = "auth"

    # Where users open links from mails: the web client's origin (verification links are
    # <PUBLIC_BASE_URL>/verify-email?token=...).
    public_base_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://")
    email_verification_ttl_seconds: int = Field(default=2 * 86400, ge=60)
    verification_resend_max: int = Field(default=3, ge=1)
    verification_resend_window_seconds: int = Field(default=3600, ge=1)

    # Account erasure: who must confirm with `user.erased`, and when to publish again.
    events_queue: str = "auth.events"
    erasure_services: str = Field(
        default="users,messages,groups,media,relay,notifications,websocket",
        pattern=r"^[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*$",
    )
    erasure_retry_delay_seconds: float = Field(default=300.0, gt=0)
    erasure_retry_max_delay_seconds: float = Field(default=6 * 3600.0, gt=0)
    erasure_retry_poll_seconds: float = Field(default=30.0, gt=0)

    @property
    def erasure_service_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.erasure_services.split(",")))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
