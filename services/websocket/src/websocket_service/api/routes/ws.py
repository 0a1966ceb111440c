"""/ws: the WebSocket. The token comes in the first frame, never in the URL (logs keep URLs).

First frame: {"type": "auth", "token": "<access token>", "cursor": "<last cursor>"?}
Then the server sends {"type": "ready", "cursor": ...} and events, each with its cursor.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, WebSocket
from messaging_kit.tokens import InvalidToken, Principal, TokenVerifier
from pydantic import StringConstraints
from starlette.websockets import WebSocketDisconnect

from websocket_service import streams
from websocket_service.api.deps import PrincipalDep
from websocket_service.export import user_export
from websocket_service.hub import Hub
from websocket_service.session import CLOSE_UNAUTHORIZED, ClientSession
from websocket_service.streams import CURSOR

router = APIRouter(tags=["websocket"])
UserIdText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")
]


async def authenticate(
    websocket: WebSocket, verifier: TokenVerifier, timeout: float
) -> tuple[Principal, Any] | None:
    try:
        text = await asyncio.wait_for(websocket.receive_text(), timeout)
        frame = json.loads(text)
        if frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
            raise ValueError("first frame must be {type: auth, token}")
        cursor = frame.get("cursor")
        if cursor is not None and (not isinstance(cursor, str) or not CURSOR.match(cursor)):
            raise ValueError("cursor must be a cursor this server sent")
        principal: Principal = await anyio.to_thread.run_sync(verifier.verify, frame["token"])
        return principal, cursor
    except (TimeoutError, ValueError, TypeError, AttributeError, InvalidToken) as error:
        await websocket.close(CLOSE_UNAUTHORIZED, str(error)[:120] or "authentication failed")
        return None


@router.websocket("/ws")
async def connect(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    settings = hub.settings
    await websocket.accept()
    if hub.draining:
        await websocket.close(1012, "server restarting")
        return
    try:
        result = await authenticate(
            websocket, websocket.app.state.verifier, settings.auth_timeout_seconds
        )
    except WebSocketDisconnect:
        return
    if result is None:
        return
    principal, cursor = result
    resumed = cursor is not None
    cursor = await streams.start_cursor(hub, principal.user_id, cursor)
    session = ClientSession(
        websocket,
        hub,
        principal.user_id,
        cursor,
        float(principal.claims["exp"]),
        float(principal.claims["iat"]),
        str(principal.claims["sid"]) if principal.claims.get("sid") else None,
    )
    await websocket.send_text(
        json.dumps(
            {
                "type": "ready",
                "cursor": cursor,
                "connection_id": session.connection_id,
                "replica": settings.replica_id,
                "heartbeat_seconds": settings.heartbeat_seconds,
            }
        )
    )
    await session.run(resumed=resumed)


@router.get("/api/v1/websocket/export")
async def export(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Your own data held by websocket, as JSON: presence, last seen, your kept stream."""
    return await user_export(request.app.state.hub, principal.user_id)


@router.get("/api/v1/presence")
async def presence(
    request: Request,
    principal: PrincipalDep,
    user_id: Annotated[list[UserIdText], Query(max_length=100)],
) -> dict[str, dict[str, float | bool | None]]:
    """Online (a live connection on any replica) and last seen (unix seconds) per user."""
    hub: Hub = request.app.state.hub
    return await hub.presence_of(principal.user_id, user_id)
