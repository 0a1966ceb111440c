"""The replica's live side: who is connected here, doorbells from Redis, presence upkeep.

A doorbell only says "these users' streams grew"; each connection then reads its own stream
from its own cursor. Lost doorbells (a Redis blip) cost latency, never messages: every
connection also re-reads on a slow timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from messaging_kit.blocks import BlockList
from redis.exceptions import RedisError

from websocket_service.audience import PresenceAudience
from websocket_service.close_codes import CLOSE_UNAUTHORIZED
from websocket_service.erasure import CLOSE_ERASED
from websocket_service.keys import RedisKeys

if TYPE_CHECKING:
    from websocket_service.session import ClientSession

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, client: aioredis.Redis, keys: RedisKeys, settings: Any) -> None:
        self.redis = client
        self.keys = keys
        self.settings = settings
        self.sessions: dict[str, set[ClientSession]] = defaultdict(set)
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.draining = False
        # The app's TokenVerifier: its revocation list (kit) also judges open connections.
        self.verifier: Any = None
        # Who blocked whom (messaging_kit.blocks): presence and typing do not cross a block.
        self.blocks = BlockList()
        # Whose presence each viewer may see (users' per-user setting and contacts).
        self.audience = PresenceAudience(
            getattr(settings, "presence_audience_url", ""), getattr(settings, "internal_token", "")
        )

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.listen(), name="ws-doorbell"),
            asyncio.create_task(self.keep_presence(), name="ws-presence"),
            asyncio.create_task(self.sweep_revoked(), name="ws-revocations"),
        ]

    async def stop(self) -> None:
        """Drain: tell every client to reconnect elsewhere, then stop the background tasks."""
        self.draining = True
        for session in [s for group in self.sessions.values() for s in group]:
            await session.close(1012, "server restarting, reconnect with your cursor")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.audience.close()
        await self.redis.aclose()

    async def add(self, session: ClientSession) -> None:
        self.sessions[session.user_id].add(session)
        await self.mark_present(session)

    async def remove(self, session: ClientSession) -> None:
        group = self.sessions.get(session.user_id)
        if group is not None:
            group.discard(session)
            if not group:
                del self.sessions[session.user_id]
        with contextlib.suppress(RedisError):
            pipe = self.redis.pipeline()
            if session.erased:  # nothing of theirs may be written again
                pipe.delete(
                    self.keys.presence(session.user_id), self.keys.last_seen(session.user_id)
                )
            else:
                pipe.zrem(self.keys.presence(session.user_id), session.connection_id)
                pipe.set(self.keys.last_seen(session.user_id), str(time.time()))
            await pipe.execute()

    async def mark_present(self, *sessions: ClientSession) -> None:
        expiry = time.time() + self.settings.presence_ttl_seconds
        pipe = self.redis.pipeline()
        for session in sessions:
            if session.erased:
                continue
            key = self.keys.presence(session.user_id)
            pipe.zadd(key, {session.connection_id: expiry})
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.expire(key, int(self.settings.presence_ttl_seconds) + 1)
            pipe.set(self.keys.last_seen(session.user_id), str(time.time()))
        await pipe.execute()

    async def keep_presence(self) -> None:
        """Refresh presence of everyone connected here, well within its TTL."""
        while True:
            await asyncio.sleep(self.settings.presence_ttl_seconds / 3)
            sessions = [s for group in self.sessions.values() for s in group]
            if sessions:
                try:
                    await self.mark_present(*sessions)
                except RedisError as error:
                    log.warning("presence refresh failed", extra={"error": repr(error)})

    async def listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(
                        self.keys.doorbell, self.keys.ephemeral, self.keys.erased
                    )
                    self.wake_all()  # anything rung while we were not listening
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        self.dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("doorbell listener lost Redis", extra={"error": repr(error)})
                await asyncio.sleep(0.5)

    def dispatch(self, channel: bytes, data: bytes) -> None:
        if channel.decode() == self.keys.erased:
            self.close_erased(data.decode())
            return
        if channel.decode() == self.keys.doorbell:
            for user in data.decode().split(","):
                for session in self.sessions.get(user, ()):
                    session.wake()
            return
        try:
            message = json.loads(data)
            text = json.dumps(message["frame"], separators=(",", ":"))
            users = [str(u) for u in message["user_ids"]]
        except (ValueError, KeyError, TypeError):
            return
        for user in users:
            for session in self.sessions.get(user, ()):
                session.offer_ephemeral(text)

    def close_erased(self, user: str) -> None:
        """The account was erased: close its connections here (marked first, so no presence
        refresh or last-seen write of theirs happens after this)."""
        for session in list(self.sessions.get(user, ())):
            session.erased = True
            self._close_later(session, CLOSE_ERASED, "account deleted")

    async def sweep_revoked(self) -> None:
        """Close connections whose token the revocation list now refuses (suspension, force
        logout): the token was checked once, at connect; this keeps the verdict current."""
        while True:
            await asyncio.sleep(self.settings.revocation_sweep_seconds)
            revocations = getattr(self.verifier, "revocations", None)
            if revocations is None:
                continue
            for session in [s for group in self.sessions.values() for s in group]:
                why = revocations.refusal(session.user_id, session.issued_at, session.session_id)
                if why is not None and session.close_code is None:
                    self._close_later(session, CLOSE_UNAUTHORIZED, why)

    def _close_later(self, session: ClientSession, code: int, reason: str) -> None:
        task = asyncio.create_task(session.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def wake_all(self) -> None:
        for group in self.sessions.values():
            for session in group:
                session.wake()

    async def publish_ephemeral(self, user_ids: list[str], frame: dict[str, Any]) -> None:
        await self.redis.publish(
            self.keys.ephemeral, json.dumps({"user_ids": user_ids, "frame": frame})
        )

    def reachable(self, sender: str, user_ids: list[str]) -> list[str]:
        """Those of `user_ids` no block stands between `sender` and."""
        return [user for user in user_ids if not self.blocks.between(sender, user)]

    async def presence_of(self, viewer: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Online and last seen per user, as `viewer` may see them: across a block (either
        way), or to someone the user does not show their presence (a stranger, by default), a
        user is shown offline and never seen, the same as someone who never connected."""
        shown = await self.audience.visible(viewer, user_ids)
        hidden = self.blocks.blocked_with(viewer, user_ids) | (set(user_ids) - shown)
        pipe = self.redis.pipeline()
        now = time.time()
        for user in user_ids:
            pipe.zcount(self.keys.presence(user), now, "+inf")
            pipe.get(self.keys.last_seen(user))
        values = await pipe.execute()
        result = {}
        for index, user in enumerate(user_ids):
            online, last_seen = values[2 * index], values[2 * index + 1]
            if user in hidden:
                online, last_seen = 0, None
            result[user] = {
                "online": bool(online),
                "last_seen": float(last_seen) if last_seen else None,
            }
        return result
