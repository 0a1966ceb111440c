"""The messages service: direct messages stored as opaque ciphertext."""

SERVICE = "messages"
DEFAULT_PORT = 8003
