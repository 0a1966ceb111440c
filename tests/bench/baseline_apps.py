"""The baselines of the service benchmarks, served by uvicorn exactly like the services.

same_app  FastAPI doing the same work as the service, written the plain way: GET /me checks the
          token (PyJWT against auth's JWKS) and selects the profile row; POST /messages checks
          the token, parses and validates the body, and runs the send transaction the messages
          service runs (erasure lock and check with the block check, the message insert under
          the conversation lock, both conversation entries and the outbox row with its NOTIFY,
          commit), statement for statement, on the same driver (psycopg2, a pool, `def`
          routes). Service / same = what our stack adds to the same work.
bare_app  FastAPI with the same two routes, returning the same JSON from memory: no token check,
          no database. Service / bare = what the work and our stack cost together.
raw_app   a plain ASGI callable returning the same bytes: the floor of uvicorn itself.

The JSON bodies are the real services' answers captured by the benchmark (BENCH_ME_JSON and
BENCH_SEND_JSON name the files), so every app sends the same number of bytes. same_app reads
BENCH_JWKS_URL, BENCH_USERS_DB and BENCH_MESSAGES_DB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


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


# --- same_app: the same work, the plain way ---------------------------------------------------
same_app = FastAPI()
_state: dict[str, Any] = {}
CONVERSATIONS = uuid.UUID("6f1c2b1e-3a55-4d0e-9c43-5a8e2d7f0b11")  # as messages_service.crud


@same_app.on_event("startup")
def _start() -> None:
    import httpx
    import jwt
    from psycopg2.pool import ThreadedConnectionPool

    jwks = httpx.get(os.environ["BENCH_JWKS_URL"], timeout=10).json()
    _state["keys"] = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}
    # As many connections as the services keep open (DB_POOL_SIZE 20); psycopg2 closes a
    # returned connection beyond minconn, so minconn is the pool size.
    _state["users"] = ThreadedConnectionPool(20, 20, os.environ["BENCH_USERS_DB"])
    _state["messages"] = ThreadedConnectionPool(20, 20, os.environ["BENCH_MESSAGES_DB"])


def _user_id(authorization: str) -> str:
    import jwt

    token = authorization.removeprefix("Bearer ")
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = _state["keys"][kid]
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience="messaging",
            issuer="messaging-auth",
            options={"require": ["iss", "aud", "exp", "iat", "sub", "jti"]},
        )
    except (jwt.InvalidTokenError, KeyError) as error:
        raise HTTPException(401, str(error)) from None
    return str(claims["sub"])


@contextmanager
def _connection(pool_name: str, *, autocommit: bool = False) -> Any:
    pool = _state[pool_name]
    connection = pool.getconn()
    # A lone SELECT needs no transaction: as the service (Database.read_row), no BEGIN and no
    # ROLLBACK round trips.
    connection.autocommit = autocommit
    try:
        yield connection
    finally:
        connection.rollback()
        pool.putconn(connection)


PROFILE = (
    "SELECT user_id, username, display_name, email, avatar_media_id, status_text, public_key,"
    " presence_visibility FROM profiles WHERE user_id = %s"
)


@same_app.get("/api/v1/users/me")
def same_me(authorization: str = Header()) -> dict[str, Any]:
    user = _user_id(authorization)
    with _connection("users", autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(PROFILE, (user,))
        row = cursor.fetchone()
    if row is None:
        raise HTTPException(404, "no such profile")
    names = ("user_id", "username", "display_name", "email", "avatar_media_id", "status_text")
    out = dict(zip(names, row, strict=False))
    out["public_key"], out["presence_visibility"] = row[6], row[7]
    return out


class SendBody(BaseModel):
    recipient_id: uuid.UUID
    idempotency_key: str
    ciphertext: str
    nonce: str
    keys: dict[uuid.UUID, str]


ERASED_LOCK = (
    "SELECT pg_advisory_xact_lock_shared(hashtext('erased-users'), hashtext(u::text))"
    " FROM (SELECT unnest(CAST(%s AS uuid[])) AS u ORDER BY 1) AS ordered"
)
ERASED_OR_BLOCKED = (
    "SELECT (SELECT array_agg(user_id) FROM erased_users WHERE user_id IN (%s::uuid, %s::uuid)),"
    " EXISTS (SELECT 1 FROM blocks WHERE blocker_id = %s::uuid AND blocked_id = %s::uuid)"
)
INSERT_MESSAGE = (
    "WITH conversation_lock AS (SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)))"
    " INSERT INTO messages (id, conversation_id, sender_id, recipient_id, idempotency_key,"
    " content_hash, ciphertext, nonce, keys) SELECT %s::uuid, %s::uuid, %s::uuid, %s::uuid, %s,"
    " %s, %s, %s, %s::jsonb FROM conversation_lock"
    " ON CONFLICT (sender_id, idempotency_key) DO NOTHING RETURNING seq, created_at"
)
ENTRIES_AND_OUTBOX = (
    "WITH entries AS (INSERT INTO conversation_entries"
    " (user_id, conversation_id, peer_id, last_seq, last_message_at)"
    " VALUES (%s::uuid, %s::uuid, %s::uuid, %s, %s), (%s::uuid, %s::uuid, %s::uuid, %s, %s)"
    " ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_seq = excluded.last_seq,"
    " last_message_at = excluded.last_message_at),"
    " queued AS (INSERT INTO outbox (id, event_type, body, created_at)"
    " VALUES (%s::uuid, 'message.created', %s::jsonb, clock_timestamp()) RETURNING id)"
    " SELECT pg_notify('messaging_outbox', '') FROM queued"
)


@same_app.post("/api/v1/messages", status_code=201)
def same_send(body: SendBody, authorization: str = Header()) -> dict[str, Any]:
    sender = _user_id(authorization)
    recipient = str(body.recipient_id)
    ciphertext = base64.b64decode(body.ciphertext, validate=True)
    nonce = base64.b64decode(body.nonce, validate=True)
    keys = {str(k): v for k, v in body.keys.items()}
    digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode())
    low, high = sorted((sender, recipient))
    conversation = str(uuid.uuid5(CONVERSATIONS, f"{low}:{high}"))
    message_id = str(uuid.uuid4())
    with _connection("messages") as connection, connection.cursor() as cursor:
        cursor.execute(ERASED_LOCK, ([sender, recipient],))
        cursor.execute(ERASED_OR_BLOCKED, (sender, recipient, recipient, sender))
        erased, blocked = cursor.fetchone()
        if erased or blocked:
            raise HTTPException(403 if blocked else 404)
        cursor.execute(
            INSERT_MESSAGE,
            (
                conversation,
                message_id,
                conversation,
                sender,
                recipient,
                body.idempotency_key,
                digest.hexdigest(),
                ciphertext,
                nonce,
                json.dumps(keys),
            ),
        )
        row = cursor.fetchone()
        if row is None:
            raise HTTPException(409, "idempotency key used")
        seq, created_at = row
        data = {
            "message_id": message_id,
            "conversation_id": conversation,
            "seq": seq,
            "sender_id": sender,
            "recipient_id": recipient,
            "recipient_ids": sorted({sender, recipient}),
            "ciphertext": body.ciphertext,
            "nonce": body.nonce,
            "keys": keys,
            "created_at": created_at.isoformat(),
        }
        event_id = str(uuid.uuid4())
        event = {
            "id": event_id,
            "type": "message.created",
            "source": "messages",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": data,
        }
        entries = (sender, conversation, recipient, seq, created_at)
        entries += (recipient, conversation, sender, seq, created_at)
        cursor.execute(ENTRIES_AND_OUTBOX, (*entries, event_id, json.dumps(event)))
        connection.commit()
    return {**data, "id": message_id}


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
