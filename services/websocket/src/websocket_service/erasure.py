"""Erasing a user from websocket's Redis: their event stream, presence, last seen, their place
in group member sets; then every replica closes their live connections (close code 4010),
told over the `<prefix>ws:erased` pub/sub channel. A replica that closes an erased user's
connection clears presence and last seen again, so a refresh racing the erase leaves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from websocket_service.keys import RedisKeys

CLOSE_ERASED = 4010


@dataclass(frozen=True)
class Erased:
    keys_deleted: int
    group_sets: int


def erase_user(client: redis.Redis, keys: RedisKeys, user: str) -> Erased:
    deleted = int(client.delete(keys.stream(user), keys.presence(user), keys.last_seen(user)))
    groups = 0
    for key in client.scan_iter(match=keys.group_members("*"), count=500):
        groups += int(client.srem(key, user))
    client.publish(keys.erased, user)
    return Erased(keys_deleted=deleted, group_sets=groups)
