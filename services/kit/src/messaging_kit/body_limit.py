"""Every request body has a limit, enforced while it is read, chunked or not.

A pure ASGI middleware (in every service through `create_app`): a Content-Length over the
limit is answered 413 before a byte is read (with `Expect: 100-continue` the client never
sends it); otherwise the bytes are counted as they stream in, and the moment they pass the
limit the read fails and the client gets the same 413 `payload-too-large` problem, whatever
the route was doing with the body. Nothing past the limit is buffered or parsed.

The limit is the service's `MAX_BODY_BYTES` setting (1 MiB unless the service says
otherwise); a route that takes more (media's streamed upload, which checks its own size as it
goes) raises it for its path with `allow_larger_bodies`.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messaging_kit.problems import problem_response

DEFAULT_LIMIT = 1024 * 1024


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
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await too_large(limit, scope, f"the body is {int(length)} bytes")(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                # Whatever the app made of the failed read (a 400, a 500), the answer is 413.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            response = too_large(limit, scope, f"the body passed {limit} bytes while read")
            await response(scope, receive, send)
