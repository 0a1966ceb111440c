"""Media's settings, from the environment (upper-cased field names)."""

from __future__ import annotations

from functools import lru_cache

from messaging_kit.settings import DatabaseSettings, EventSettings, TokenSettings, load_settings
from pydantic import Field

from media_service import DEFAULT_PORT, SERVICE

# What a chat attachment may be, decided from the bytes. No executables, archives or HTML:
# anything a browser or OS might run or render as a page is left out.
DEFAULT_ALLOWED_TYPES = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "audio/mpeg",
    "audio/ogg",
    "audio/x-wav",
    "audio/mp4",
    "video/mp4",
    "video/webm",
    "video/quicktime",
]


class Settings(DatabaseSettings, TokenSettings, EventSettings):
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)

    s3_endpoint_url: str = Field(default="http://127.0.0.1:9000", pattern=r"^https?://")
    # Where clients reach the object store (through a gateway, another host name...); presigned
    # URLs are signed for this host. Empty: the same as s3_endpoint_url.
    s3_public_endpoint_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    s3_access_key: str
    s3_secret_key: str
    s3_region: str = "us-east-1"
    s3_bucket: str = Field(default="media", min_length=3, max_length=63)

    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_TYPES))
    # Presigned download URLs are bearer capabilities: keep them short-lived.
    presign_seconds: int = Field(default=300, ge=1, le=3600)
    # 40 Mpx is a 7,700 x 5,200 photo; past that an image is refused (decompression bombs).
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    thumbnail_size: int = Field(default=320, ge=16, le=2048)
    # The queue of media's own thumbnail worker (bound to media.uploaded).
    events_queue: str = "media.thumbnails"
    # The queue of conversation and group membership events (from messages and groups).
    memberships_queue: str = "media.memberships"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(Settings, SERVICE)
