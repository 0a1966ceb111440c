"""The relay service: an offline queue per user in Redis, with a TTL."""

SERVICE = "relay"
DEFAULT_PORT = 8006
