"""Redis key names. Presence keys are a contract with relay (see services/EVENTS.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    def stream(self, user_id: str) -> str:
        """The user's ordered event log: the resume cursor is an entry id in it."""
        return f"{self.prefix}ws:stream:{user_id}"

    @property
    def stream_prefix(self) -> str:
        return f"{self.prefix}ws:stream:"

    def sent(self, sender_id: str) -> str:
        """Set of "<user> <entry id>": the sender's messages in others' streams."""
        return f"{self.prefix}ws:sent:{sender_id}"

    def seen(self, event_id: str) -> str:
        return f"{self.prefix}ws:seen:{event_id}"

    @property
    def doorbell(self) -> str:
        """Pub/sub channel: comma-separated user ids whose streams just grew."""
        return f"{self.prefix}ws:doorbell"

    @property
    def ephemeral(self) -> str:
        """Pub/sub channel for frames that are never stored (typing)."""
        return f"{self.prefix}ws:ephemeral"

    @property
    def erased(self) -> str:
        """Pub/sub channel: a user id whose connections every replica closes (erasure)."""
        return f"{self.prefix}ws:erased"

    def presence(self, user_id: str) -> str:
        """Sorted set: connection id -> expiry (unix seconds). Online iff one is in the future."""
        return f"{self.prefix}presence:{user_id}"

    def last_seen(self, user_id: str) -> str:
        return f"{self.prefix}last_seen:{user_id}"

    def group_members(self, group_id: str) -> str:
        return f"{self.prefix}ws:group:{group_id}:members"
