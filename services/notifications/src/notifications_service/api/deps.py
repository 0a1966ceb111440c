"""Dependencies: the request's session and who is asking (verified against auth's JWKS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from messaging_kit.problems import Problem
from messaging_kit.tokens import Principal, TokenVerifier, principal_dependency
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    yield from request.app.state.db.session()


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(principal_dependency(_verifier))]


def get_viewer_id(principal: PrincipalDep) -> uuid.UUID:
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise Problem(
            401, "invalid-token", "Access token refused", "sub is not a user id"
        ) from None


ViewerId = Annotated[uuid.UUID, Depends(get_viewer_id)]
