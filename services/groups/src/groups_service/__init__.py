"""The groups service."""

SERVICE = "groups"
DEFAULT_PORT = 8004
