"""The messages service."""

SERVICE = "messages"
DEFAULT_PORT = 8003
