"""The websocket service: live delivery, resume from a cursor, presence and typing."""

SERVICE = "websocket"
DEFAULT_PORT = 8008
