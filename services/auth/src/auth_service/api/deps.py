"""Dependencies: the request's session, the auth bundle, the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from messaging_kit.problems import Problem
from messaging_kit.request_deps import SessionDep  # re-exported for the routes
from messaging_kit.tokens import Principal, TokenVerifier, principal_dependency

from auth_service import crud
from auth_service.models import User


async def get_auth(request: Request) -> crud.Auth:  # async: no threadpool hop for a lookup
    auth: crud.Auth = request.app.state.auth
    return auth


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


AuthDep = Annotated[crud.Auth, Depends(get_auth)]
PrincipalDep = Annotated[Principal, Depends(principal_dependency(_verifier))]


def refusal(user: User | None, principal: Principal) -> str | None:
    """Why auth refuses this token although its signature is good (auth reads its own
    database; the other services keep messaging_kit.revocations)."""
    if user is None or not user.is_active:
        return "account no longer exists"
    if user.suspended_at is not None:
        return "account suspended or deleted"
    cut_off = user.tokens_not_before
    if cut_off is not None and float(principal.claims["iat"]) < cut_off.timestamp():
        return "token revoked; log in again"
    return None


def get_current_user(session: SessionDep, principal: PrincipalDep) -> User:
    user = crud.get_user(session, principal.user_id)
    reason = refusal(user, principal)
    sid = principal.claims.get("sid")
    if reason is None and sid is not None and crud.session_ended(session, str(sid)):
        reason = "session ended; log in again"
    if reason is not None or user is None:
        slug = "invalid-token" if user is None or not user.is_active else "token-revoked"
        raise Problem(401, slug, "Access token refused", reason)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

ADMIN_ONLY = Problem(403, "admin-only", "This needs the admin role")


def get_admin(principal: PrincipalDep, user: CurrentUser) -> User:
    # Both: the token's role claim (granted at login) and the account's role now, so a
    # demotion takes effect at once.
    if principal.claims.get("role") != "admin" or user.role != "admin":
        raise ADMIN_ONLY
    return user


CurrentAdmin = Annotated[User, Depends(get_admin)]
