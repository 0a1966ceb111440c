"""Dependencies: the request's session, the auth bundle, the current user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from messaging_kit.problems import Problem
from messaging_kit.tokens import Principal, TokenVerifier, principal_dependency
from sqlalchemy.orm import Session

from auth_service import crud
from auth_service.models import User


def get_session(request: Request) -> Iterator[Session]:
    yield from request.app.state.db.session()


def get_auth(request: Request) -> crud.Auth:
    auth: crud.Auth = request.app.state.auth
    return auth


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


SessionDep = Annotated[Session, Depends(get_session)]
AuthDep = Annotated[crud.Auth, Depends(get_auth)]
PrincipalDep = Annotated[Principal, Depends(principal_dependency(_verifier))]


def get_current_user(session: SessionDep, principal: PrincipalDep) -> User:
    user = crud.get_user(session, principal.user_id)
    if user is None or not user.is_active:
        raise Problem(401, "invalid-token", "Access token refused", "account no longer exists")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
