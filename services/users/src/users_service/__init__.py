"""The users service."""

SERVICE = "users"
DEFAULT_PORT = 8002
