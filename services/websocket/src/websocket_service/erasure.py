"""Erasing a user from websocket's Redis: their event stream, presence, last seen, their place
in group member sets, their messages in others' streams (found through their sender index),
and their traces in the indexes of those who wrote to them; then every replica closes their
live connections (close code 4010), told over the `<prefix>ws:erased` pub/sub channel. A
replica that closes an erased user's connection clears presence and last seen again, so a
refresh racing the erase leaves nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from websocket_service.keys import RedisKeys

CLOSE_ERASED = 4010


@dataclass(frozen=True)
class Erased:
    keys_deleted: int
    entries_in_others_streams: int
    group_sets: int


def erase_user(client: redis.Redis, keys: RedisKeys, user: str) -> Erased:
    pipe = client.pipeline()
    entries = 0
    members: Any = client.smembers(keys.sent(user))
    own_stream: Any = client.xrange(keys.stream(user))
    for member in members:
        other, _, entry_id = member.decode().partition(" ")
        pipe.xdel(keys.stream(other), entry_id)
        entries += 1
    for entry_id, fields in own_stream:
        sender = json.loads(fields[b"e"]).get("data", {}).get("sender_id")
        if isinstance(sender, str) and sender != user:
            pipe.srem(keys.sent(sender), f"{user} {entry_id.decode()}")
    pipe.execute()
    deleted = int(
        client.delete(keys.stream(user), keys.presence(user), keys.last_seen(user), keys.sent(user))
    )
    groups = 0
    for key in client.scan_iter(match=keys.group_members("*"), count=500):
        groups += int(client.srem(key, user))
    client.publish(keys.erased, user)
    return Erased(keys_deleted=deleted, entries_in_others_streams=entries, group_sets=groups)
