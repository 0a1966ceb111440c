"""Reading a user's stream (ingest writes it, trimmed to a length): where a connection starts,
whether a resumed one lost entries to the trim, the next batch after a cursor. Each is one
Redis command; the route and ClientSession only decide what to send."""

from __future__ import annotations

import re

from redis.exceptions import RedisError

from websocket_service.hub import Hub

CURSOR = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")


def cursor_key(cursor: str) -> tuple[int, int]:
    ms, _, seq = cursor.partition("-")
    return int(ms), int(seq or 0)


async def start_cursor(hub: Hub, user_id: str, cursor: str | None) -> str:
    """The client's own cursor (a resume); else the newest entry, so a new connection gets
    what comes from now on ("0-0" while the stream is empty)."""
    if cursor is not None:
        return cursor
    last = await hub.redis.xrevrange(hub.keys.stream(user_id), count=1)
    return last[0][0].decode() if last else "0-0"


async def trimmed_past(hub: Hub, user_id: str, cursor: str) -> bool:
    """Whether entries after `cursor` were trimmed away (it cannot be resumed gap-free)."""
    try:
        info = await hub.redis.xinfo_stream(hub.keys.stream(user_id))
    except RedisError:
        return False  # no stream yet: nothing was missed
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
    return bool(first and trimmed and cursor_key(first[0].decode()) > cursor_key(cursor))


async def read_after(hub: Hub, user_id: str, cursor: str, count: int) -> list[tuple[str, str]]:
    """Up to `count` entries after `cursor`, oldest first: (cursor, event JSON)."""
    entries = await hub.redis.xrange(
        hub.keys.stream(user_id), min=f"({cursor}", max="+", count=count
    )
    return [(entry_id.decode(), fields[b"e"].decode()) for entry_id, fields in entries]
