"""Erasing a user from relay: their own offline queue, and their messages waiting in others'
queues (found through their sender index). Idempotent: a second run finds nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from relay_service.queue import OfflineQueues


@dataclass(frozen=True)
class Erased:
    own_entries: int
    entries_in_others_queues: int


def erase_user(queues: OfflineQueues, user: str) -> Erased:
    keys = queues.keys
    waiting: dict[str, list[str]] = defaultdict(list)
    for member in queues.redis.smembers(keys.sent(user)):
        recipient, _, message_id = member.decode().partition(":")
        waiting[recipient].append(message_id)
    removed = sum(queues.acknowledge(recipient, ids) for recipient, ids in waiting.items())
    own = queues.redis.zcard(keys.queue(user))
    queues.redis.delete(keys.queue(user), keys.entries(user), keys.sent(user))
    return Erased(own_entries=int(own), entries_in_others_queues=removed)
