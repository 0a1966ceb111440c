"""Per-user offline queues in Redis: a sorted set of ids by time plus a hash of entries.

Entries expire one by one (older than the TTL are dropped whenever the queue is touched) and
the whole queue key expires when untouched for a TTL. Enqueueing is idempotent by message id.
Each sender also has a set of `<recipient>:<message id>` it has waiting in others' queues, so
erasing a sender finds their messages without scanning every queue.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

ENQUEUE = """
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2]) * 1000
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
  redis.call('HDEL', KEYS[2], unpack(old))
end
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[4])
if added == 1 then redis.call('HSET', KEYS[2], ARGV[4], ARGV[5]) end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('HDEL', KEYS[2], unpack(oldest))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if added == 1 and ARGV[6] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return added
"""


@dataclass(frozen=True)
class RelayKeys:
    prefix: str

    def queue(self, user_id: str) -> str:
        return f"{self.prefix}relay:queue:{user_id}"

    def entries(self, user_id: str) -> str:
        return f"{self.prefix}relay:entries:{user_id}"

    def sent(self, sender_id: str) -> str:
        """`<recipient>:<message id>` of the sender's entries waiting in others' queues."""
        return f"{self.prefix}relay:sent:{sender_id}"

    def presence(self, user_id: str) -> str:
        """Kept by websocket: connection id -> expiry (unix seconds)."""
        return f"{self.prefix}presence:{user_id}"


class OfflineQueues:
    def __init__(self, client: redis.Redis, keys: RelayKeys, ttl_seconds: int, max_pending: int):
        self.redis = client
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.max_pending = max_pending
        self.enqueue_script = client.register_script(ENQUEUE)

    def is_online(self, user_id: str) -> bool:
        return bool(self.redis.zcount(self.keys.presence(user_id), time.time(), "+inf"))

    def enqueue(
        self, user_id: str, message_id: str, entry: dict[str, Any], sender_id: str = ""
    ) -> bool:
        added = self.enqueue_script(
            keys=[
                self.keys.queue(user_id),
                self.keys.entries(user_id),
                self.keys.sent(sender_id or "-"),
            ],
            args=[
                int(time.time() * 1000),
                self.ttl_seconds,
                self.max_pending,
                message_id,
                json.dumps(entry, separators=(",", ":")),
                f"{user_id}:{message_id}" if sender_id else "",
            ],
        )
        return bool(added)

    def pending(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """Oldest first, without the expired ones."""
        cutoff = int(time.time() * 1000) - self.ttl_seconds * 1000
        ids: list[Any] = self.redis.zrangebyscore(
            self.keys.queue(user_id), cutoff + 1, "+inf", start=0, num=limit, withscores=True
        )
        if not ids:
            return []
        entries = self.keys.entries(user_id)
        raw: list[Any] = self.redis.hmget(entries, [i for i, _ in ids])
        items = []
        for (message_id, score), body in zip(ids, raw, strict=True):
            if body is None:
                continue
            items.append(
                {
                    "message_id": message_id.decode(),
                    "queued_at": float(score) / 1000,
                    "event": json.loads(body),
                }
            )
        return items

    def count(self, user_id: str) -> int:
        cutoff = int(time.time() * 1000) - self.ttl_seconds * 1000
        return int(self.redis.zcount(self.keys.queue(user_id), cutoff + 1, "+inf"))

    def acknowledge(self, user_id: str, message_ids: list[str]) -> int:
        if not message_ids:
            return 0
        pipe = self.redis.pipeline()
        pipe.zrem(self.keys.queue(user_id), *message_ids)
        pipe.hdel(self.keys.entries(user_id), *message_ids)
        removed, _ = pipe.execute()
        return int(removed)
