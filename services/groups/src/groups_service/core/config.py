"""Groups' settings, from the environment."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import DatabaseSettings, EventSettings, TokenSettings, load_settings
from pydantic import Field

from groups_service import DEFAULT_PORT, SERVICE


class Settings(DatabaseSettings, TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    max_members: int = Field(default=256, ge=2)
    max_ciphertext_bytes: int = Field(default=64 * 1024, ge=1)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # users' internal endpoint saying who accepted an adder as a contact (groups_service.consent)
    contacts_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    # The queue this service's consumer reads (user.deleted).
    events_queue: str = "groups.events"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
