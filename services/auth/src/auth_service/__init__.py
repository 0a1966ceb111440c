"""The auth service."""

SERVICE = "auth"
DEFAULT_PORT = 8001
