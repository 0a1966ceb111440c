"""The relay service."""

SERVICE = "relay"
DEFAULT_PORT = 8006
