"""Route dependencies of a service that owns a database: its session per request, who is asking
(verified against auth's JWKS) as a user id, and a body-size guard. Needs the kit's db extra."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from messaging_kit.problems import Problem
from messaging_kit.tokens import Principal, TokenVerifier, principal_dependency


# Async, though the routes are sync: FastAPI runs a sync dependency in the threadpool (a
# generator one twice, to enter and to leave), and a hop costs more than the work here.
async def get_session(request: Request) -> AsyncIterator[Session]:
    async with request.app.state.db.request_session() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    async with request.app.state.db.read_session() as session:
        yield session


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


SessionDep = Annotated[Session, Depends(get_session)]
# For routes that only read (Database.read_session): one round trip per statement.
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
PrincipalDep = Annotated[Principal, Depends(principal_dependency(_verifier))]


async def get_viewer_id(principal: PrincipalDep) -> uuid.UUID:
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise Problem(
            401, "invalid-token", "Access token refused", "sub is not a user id"
        ) from None


ViewerId = Annotated[uuid.UUID, Depends(get_viewer_id)]


def limit_body(request: Request) -> None:
    """Refuse an oversized body from its Content-Length, before reading or parsing it."""
    limit: int = request.app.state.settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise Problem(
            413,
            "payload-too-large",
            "Request body too large",
            f"the body is {length} bytes; the limit is {limit}",
            limit=limit,
        )


BodyLimit = Depends(limit_body)
