"""Users' settings, from the environment (see services/README.md for the full list)."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import DatabaseSettings, EventSettings, TokenSettings, load_settings
from pydantic import Field

from users_service import DEFAULT_PORT, SERVICE


class Settings(DatabaseSettings, TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    invitation_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    # media's base URL: an avatar must be media its user uploaded (users_service.avatars).
    media_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    # The queue this service's consumer reads (one per service, bound to what it handles).
    events_queue: str = "users.events"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
