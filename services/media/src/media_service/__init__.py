"""The media service."""

SERVICE = "media"
DEFAULT_PORT = 8005
