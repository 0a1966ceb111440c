"""Messages' settings, from the environment."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import DatabaseSettings, EventSettings, TokenSettings, load_settings
from pydantic import Field

from messages_service import DEFAULT_PORT, SERVICE


class Settings(DatabaseSettings, TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    # Decoded ciphertext above this is refused with 413 (attachments go through media).
    max_ciphertext_bytes: int = Field(default=64 * 1024, ge=1)
    # Whole request bodies above this are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # The sender may delete a message for everyone this long after sending it.
    delete_window_seconds: int = Field(default=3600, ge=0)
    events_queue: str = "messages.events"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
