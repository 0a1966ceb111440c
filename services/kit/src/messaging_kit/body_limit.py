"""Every request body has a limit, enforced while it is read, chunked or not.

A pure ASGI middleware (in every service through `create_app`): a Content-Length over the
limit is answered 413 before a byte is read when the client waits for `100 Continue`;
otherwise the bytes are counted as they stream in, and the moment they pass the limit the read
fails and the client gets the same 413 `payload-too-large` problem, whatever the route was
doing with the body. Nothing past the limit is buffered or parsed.

Whenever a service answers before it has read the whole body (this 413, media's own
upload-too-large, a 415 after sniffing a file's first bytes...), what the client is still
sending is first read and thrown away, up to `DRAIN_MAX_BYTES` or `DRAIN_MAX_SECONDS` (nginx
calls it discarding the body): a server that closes with unread bytes resets the connection,
and a proxy in front (the gateway) then often loses the answer and closes the client's
connection instead of passing the 413 on. A client waiting for `100 Continue` that has not
started sending is answered at once.

The limit is the service's `MAX_BODY_BYTES` setting (1 MiB unless the service says
otherwise); a route that takes more (media's streamed upload, which checks its own size as it
goes) raises it for its path with `allow_larger_bodies`.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messaging_kit.problems import problem_response

DEFAULT_LIMIT = 1024 * 1024
DRAIN_MAX_BYTES = 16 * 1024 * 1024
DRAIN_MAX_SECONDS = 2.0


class BodyTooLarge(Exception):  # noqa: N818 - a condition, like the standard library's
    pass


def allow_larger_bodies(app: Any, path: str, limit: int) -> None:
    """Let requests to exactly `path` carry up to `limit` bytes."""
    overrides: dict[str, int] = getattr(app.state, "body_limits", {})
    app.state.body_limits = {**overrides, path.rstrip("/"): limit}


def limit_for(scope: Scope) -> int:
    state = getattr(scope.get("app"), "state", None)
    settings = getattr(state, "settings", None)
    limit = int(getattr(settings, "max_body_bytes", DEFAULT_LIMIT))
    larger = (getattr(state, "body_limits", None) or {}).get(scope.get("path", "").rstrip("/"))
    return max(limit, larger) if larger else limit


def too_large(limit: int, scope: Scope, what: str) -> Any:
    return problem_response(
        413,
        "payload-too-large",
        "Request body too large",
        f"{what}; the limit is {limit} bytes",
        instance=scope.get("path"),
        headers={"Connection": "close"},
        limit=limit,
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await drain(receive)  # it is sending anyway: take it off the wire first
            await too_large(limit, scope, f"the body is {int(length)} bytes")(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False
        expects_continue = headers.get(b"expect", b"").lower() == b"100-continue"
        # Whether the client may still be sending: a body is announced and not all read.
        pending = bool(length and length != b"0") or b"transfer-encoding" in headers
        body_started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded, pending, body_started
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                body_started = True
                pending = bool(message.get("more_body", False))
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            else:
                pending = False
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, pending
            if exceeded and not started:
                # Whatever the app made of the failed read (a 400, a 500), the answer is 413.
                return
            if message["type"] == "http.response.start":
                started = True
                if pending and (body_started or not expects_continue):
                    pending = False
                    await drain(receive)  # answered early: take the rest off the wire first
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await drain(receive)
            response = too_large(limit, scope, f"the body passed {limit} bytes while read")
            await response(scope, receive, send)


async def drain(receive: Receive) -> None:
    """Read and discard the rest of the body, within a bound of bytes and time."""
    drained = 0
    with anyio.move_on_after(DRAIN_MAX_SECONDS):
        while drained <= DRAIN_MAX_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return
