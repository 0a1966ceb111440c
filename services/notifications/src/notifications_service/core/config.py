"""Notifications' settings, from the environment (upper-cased field names)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from messaging_kit.settings import DatabaseSettings, EventSettings, TokenSettings, load_settings
from pydantic import Field

from notifications_service import DEFAULT_PORT, SERVICE


class Settings(DatabaseSettings, TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    # auto: STARTTLS whenever the server offers it; require: refuse to send in clear.
    smtp_starttls: Literal["auto", "require", "off"] = "auto"
    # A CA bundle for the SMTP server's certificate, besides the system's.
    smtp_ca_file: str = ""
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Messaging <no-reply@messaging.local>"
    # Where links in emails point (the web client behind the gateway).
    app_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://")

    # One queue per concern, so a dead push endpoint never holds up an email (and vice versa).
    email_queue: str = "notifications.email"
    push_queue: str = "notifications.push"
    # A failing delivery is retried with exponential backoff, then parked in the queue's DLQ.
    delivery_attempts: int = Field(default=4, ge=1)
    first_backoff_seconds: float = Field(default=0.5, gt=0)
    max_backoff_seconds: float = Field(default=10.0, gt=0)

    # Presence as the websocket service keeps it (the same Redis and key prefix as relay).
    redis_url: str = Field(pattern=r"^rediss?://")
    redis_key_prefix: str = "mp:"

    # A user offline longer than this gets a digest of what arrived meanwhile, at most once
    # per this long.
    digest_offline_seconds: float = Field(default=900.0, gt=0)
    digest_interval_seconds: float = Field(default=60.0, gt=0)
    digest_max_attempts: int = Field(default=5, ge=1)

    push_timeout_seconds: float = Field(default=5.0, gt=0)
    push_attempts: int = Field(default=3, ge=1)
    # Plain http:// push URLs: for local development and tests only.
    push_allow_http: bool = False
    # Push to loopback, private, link-local or reserved addresses (no SSRF into the cluster
    # otherwise): for local development and tests only.
    push_allow_private: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
