"""What websocket holds of one user, for their own export: presence, last seen, and the
events kept in their stream for resume (as the client would receive them)."""

from __future__ import annotations

import json
import time
from typing import Any

from messaging_kit.export import export_document

from websocket_service import SERVICE
from websocket_service.hub import Hub


async def user_export(hub: Hub, user: str) -> dict[str, Any]:
    keys = hub.keys
    connections = await hub.redis.zrangebyscore(keys.presence(user), time.time(), "+inf")
    last_seen = await hub.redis.get(keys.last_seen(user))
    entries = await hub.redis.xrange(keys.stream(user), min="-", max="+")
    return export_document(
        SERVICE,
        user,
        online=bool(connections),
        last_seen=float(last_seen) if last_seen else None,
        stream=[
            {"cursor": entry_id.decode(), "event": json.loads(fields[b"e"])}
            for entry_id, fields in entries
        ],
    )
