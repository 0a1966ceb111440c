"""One authenticated client connection: resume from its cursor, then live, with a bounded
buffer between reading its stream and writing its socket.

Three tasks per client: the pump reads the user's stream from the client's cursor into the
buffer, the writer sends from the buffer, the reader handles what the client sends. A client
that stops reading fills its socket, then its buffer; when the pump cannot add to a full
buffer for `slow_client_seconds` the client is disconnected (it can resume with its cursor).
Nothing else waits on it: each client has its own tasks and reads Redis on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from websocket_service import streams
from websocket_service.close_codes import (
    CLOSE_BAD_FRAME,
    CLOSE_IDLE,
    CLOSE_SLOW,
    CLOSE_UNAUTHORIZED,
)
from websocket_service.hub import Hub

log = logging.getLogger(__name__)

UUID_TEXT = re.compile(r"^[0-9a-fA-F-]{36}$")
READ_BATCH = 200


class ClientSession:
    def __init__(
        self,
        websocket: WebSocket,
        hub: Hub,
        user_id: str,
        cursor: str,
        expires_at: float,
        issued_at: float = 0.0,
        session_id: str | None = None,
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.settings = hub.settings
        self.user_id = user_id
        self.cursor = cursor
        self.expires_at = expires_at
        self.issued_at = issued_at  # the token's iat, for the hub's revocation sweep
        self.session_id = session_id  # the token's sid (its login), for the same sweep
        self.connection_id = uuid.uuid4().hex
        self.buffer: asyncio.Queue[str] = asyncio.Queue(self.settings.client_buffer_frames)
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self.close_code: int | None = None
        self.erased = False  # the account was erased while connected

    def wake(self) -> None:
        self._wake.set()

    def offer_ephemeral(self, text: str) -> None:
        """Typing and the like: dropped, not waited for, when the client is behind."""
        with contextlib.suppress(asyncio.QueueFull):
            self.buffer.put_nowait(text)

    async def close(self, code: int, reason: str) -> None:
        if self._closed.is_set():
            return
        self.close_code = code
        self._closed.set()
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.websocket.close(code, reason), 1.0)

    async def run(self, *, resumed: bool) -> None:
        await self.hub.add(self)
        tasks = [
            asyncio.create_task(self.pump(resumed=resumed)),
            asyncio.create_task(self.write()),
            asyncio.create_task(self.read()),
            asyncio.create_task(self._closed.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.hub.remove(self)

    async def pump(self, *, resumed: bool) -> None:
        if resumed and await streams.trimmed_past(self.hub, self.user_id, self.cursor):
            await self.buffer.put(
                json.dumps({"type": "gap", "detail": "fetch history over HTTP, then resume"})
            )
        while True:
            self._wake.clear()
            try:
                entries = await streams.read_after(self.hub, self.user_id, self.cursor, READ_BATCH)
            except RedisError as error:
                log.warning("stream read failed", extra={"error": repr(error)})
                entries = []
                await asyncio.sleep(0.5)
            for cursor, event in entries:
                frame = f'{{"type":"event","cursor":"{cursor}","event":{event}}}'
                try:
                    await asyncio.wait_for(
                        self.buffer.put(frame), self.settings.slow_client_seconds
                    )
                except TimeoutError:
                    log.info("slow client disconnected", extra={"user_id": self.user_id})
                    await self.close(CLOSE_SLOW, "too slow; reconnect with your cursor")
                    return
                self.cursor = cursor
            if len(entries) == READ_BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    async def write(self) -> None:
        while True:
            frame = await self.buffer.get()
            await self.websocket.send_text(frame)

    async def read(self) -> None:
        idle = self.settings.heartbeat_seconds * 2
        while True:
            timeout = min(idle, max(self.expires_at - time.time(), 0.01))
            try:
                text = await asyncio.wait_for(self.websocket.receive_text(), timeout)
            except TimeoutError:
                if time.time() >= self.expires_at:
                    await self.close(CLOSE_UNAUTHORIZED, "token expired; reconnect")
                else:
                    await self.close(CLOSE_IDLE, "no heartbeat")
                return
            except WebSocketDisconnect:
                return
            await self.handle(text)

    async def handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
            kind = frame["type"]
        except (ValueError, KeyError, TypeError):
            await self.close(CLOSE_BAD_FRAME, "frames are JSON objects with a type")
            return
        if kind == "ping":
            self.offer_ephemeral('{"type":"pong"}')
        elif kind == "typing":
            await self.typing(frame)
        elif kind == "presence":
            users = [u for u in frame.get("user_ids", [])[:100] if isinstance(u, str)]
            status = await self.hub.presence_of(self.user_id, users)
            self.offer_ephemeral(json.dumps({"type": "presence", "users": status}))

    async def typing(self, frame: dict[str, Any]) -> None:
        out = {"type": "typing", "from": self.user_id, "active": bool(frame.get("active", True))}
        to, group = frame.get("to"), frame.get("group_id")
        if isinstance(to, str) and UUID_TEXT.match(to):
            if self.hub.reachable(self.user_id, [to]):  # a block drops it, silently
                await self.hub.publish_ephemeral([to], {**out, "to": to})
        elif isinstance(group, str) and UUID_TEXT.match(group):
            members = await self.hub.redis.smembers(self.hub.keys.group_members(group))
            names = {m.decode() for m in members}
            if self.user_id in names:
                others = self.hub.reachable(self.user_id, sorted(names - {self.user_id}))
                if others:
                    await self.hub.publish_ephemeral(others, {**out, "group_id": group})
