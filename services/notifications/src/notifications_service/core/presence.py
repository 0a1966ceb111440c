"""Who is online, as the websocket service keeps it in Redis (the contract relay reads too):
`<prefix>presence:<user>` is a sorted set of connection id -> expiry (unix seconds), online
iff one expiry is in the future; `<prefix>last_seen:<user>` holds the unix time the user was
last connected."""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger(__name__)


class PresenceReader:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def online(self, user_id: str) -> bool:
        return bool(self.redis.zcount(f"{self.prefix}presence:{user_id}", time.time(), "+inf"))

    def all_online(self, user_ids: list[str]) -> bool:
        """Every one of them online: one round trip for all (a pipeline)."""
        now = time.time()
        pipeline = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipeline.zcount(f"{self.prefix}presence:{user_id}", now, "+inf")
        return all(pipeline.execute())

    def last_seen(self, user_id: str) -> float | None:
        raw = self.redis.get(f"{self.prefix}last_seen:{user_id}")
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None

    def online_or_unknown(self, user_id: str) -> bool | None:
        """online(), or None when Redis does not answer (the caller decides what that means)."""
        try:
            return self.online(user_id)
        except redis.RedisError as error:
            log.warning("presence unknown", extra={"user_id": user_id, "error": repr(error)})
            return None
