"""The notifications service."""

SERVICE = "notifications"
DEFAULT_PORT = 8007
