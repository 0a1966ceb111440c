"""/internal/v1: for the other services only (the gateway routes /api/v1/<service>, not this)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from messaging_kit.internal import require_service_credentials
from messaging_kit.tokens import LEEWAY_SECONDS

from auth_service import lifecycle
from auth_service.api.deps import SessionDep
from auth_service.schemas import Revocations

# Service credentials on every route: the snapshot names suspended accounts.
router = APIRouter(
    prefix="/internal/v1",
    tags=["internal"],
    dependencies=[Depends(require_service_credentials)],
)


@router.get("/revocations")
def revocations(request: Request, session: SessionDep) -> Revocations:
    """Suspended and deleted users and token cut-offs, for `messaging_kit.revocations`.
    Only what can still matter: anything older than an access token's lifetime is left out."""
    ttl = request.app.state.settings.access_token_ttl_seconds
    horizon = timedelta(seconds=ttl + LEEWAY_SECONDS)
    return Revocations.model_validate(lifecycle.revocation_snapshot(session, horizon))
