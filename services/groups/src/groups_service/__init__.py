"""The groups service: groups, members with roles, group messages."""

SERVICE = "groups"
DEFAULT_PORT = 8004
