"""Dependencies: who is asking (verified against auth's JWKS)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from messaging_kit.tokens import Principal, TokenVerifier, principal_dependency


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


PrincipalDep = Annotated[Principal, Depends(principal_dependency(_verifier))]


async def get_user_id(principal: PrincipalDep) -> str:
    return principal.user_id


UserId = Annotated[str, Depends(get_user_id)]
