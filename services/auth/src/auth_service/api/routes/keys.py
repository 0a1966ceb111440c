"""Auth's public keys, for every other service to verify access tokens locally."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json")
@router.get("/api/v1/auth/jwks.json")
def jwks(request: Request, response: Response) -> dict[str, Any]:
    # Short cache: a new key is published well before it signs (see the rotation steps).
    response.headers["Cache-Control"] = "public, max-age=60"
    keys: dict[str, Any] = request.app.state.keys.jwks()
    return keys
