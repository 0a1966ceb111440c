"""The websocket service."""

SERVICE = "websocket"
DEFAULT_PORT = 8008
