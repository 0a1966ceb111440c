"""The two baselines of the service benchmarks, served by uvicorn exactly like the services.

bare_app  FastAPI with the same two routes, returning the same JSON from memory: no token check,
          no database, no metrics, no logging. Service / bare = what our stack adds.
raw_app   a plain ASGI callable returning the same bytes: the floor of uvicorn itself.

The JSON bodies are the real services' answers captured by the benchmark (BENCH_ME_JSON and
BENCH_SEND_JSON name the files), so every app sends the same number of bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _load(variable: str) -> Any:
    path = os.environ.get(variable)
    return json.loads(Path(path).read_text()) if path else {"ok": True}


ME = _load("BENCH_ME_JSON")
SENT = _load("BENCH_SEND_JSON")
ME_BYTES = json.dumps(ME, separators=(",", ":")).encode()
SENT_BYTES = json.dumps(SENT, separators=(",", ":")).encode()

bare_app = FastAPI()


@bare_app.get("/api/v1/users/me")
async def bare_me() -> JSONResponse:
    return JSONResponse(ME)


@bare_app.post("/api/v1/messages", status_code=201)
async def bare_send(request: Request) -> JSONResponse:
    await request.json()  # parse the body, as the service must
    return JSONResponse(SENT, status_code=201)


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False)
    post = scope["method"] == "POST"
    body = SENT_BYTES if post else ME_BYTES
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 201 if post else 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
