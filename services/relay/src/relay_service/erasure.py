"""Erasing a user from relay: their own offline queue (and its traces in its senders' indexes),
and their messages waiting in others' queues (found through their own sender index).
Idempotent: a second run finds nothing."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from relay_service.queue import OfflineQueues


@dataclass(frozen=True)
class Erased:
    own_entries: int
    entries_in_others_queues: int


def erase_user(queues: OfflineQueues, user: str) -> Erased:
    client, keys = queues.redis, queues.keys
    waiting: dict[str, list[str]] = defaultdict(list)
    for member in client.smembers(keys.sent(user)):
        recipient, _, message_id = member.decode().partition(":")
        waiting[recipient].append(message_id)
    removed = sum(queues.acknowledge(recipient, ids) for recipient, ids in waiting.items())
    own = client.hgetall(keys.entries(user))
    pipe = client.pipeline()
    for message_id, body in own.items():
        sender = json.loads(body).get("data", {}).get("sender_id")
        if sender:
            pipe.srem(keys.sent(str(sender)), f"{user}:{message_id.decode()}")
    pipe.delete(keys.queue(user), keys.entries(user), keys.sent(user))
    pipe.execute()
    return Erased(own_entries=len(own), entries_in_others_queues=removed)
