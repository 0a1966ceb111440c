"""Gives each request an id (the caller's X-Request-ID if sane) and logs one line per request."""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messaging_kit.logs import ACCESS_LOG, REQUEST_ID_HEADER, new_request_id, request_id_var
from messaging_kit.metrics import route_template

# A caller-chosen id is echoed into our logs and events, so keep it short and plain.
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HEADER = REQUEST_ID_HEADER.lower().encode()
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            candidate = value.decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
    return new_request_id()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            if route not in _QUIET_ROUTES:
                ACCESS_LOG.write(
                    request_id,
                    scope.get("method", "WS"),
                    route,
                    status,
                    round((time.perf_counter() - started) * 1000, 2),
                )
            request_id_var.reset(token)
