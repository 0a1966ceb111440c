"""Service credentials for `/internal/...` endpoints: what one platform service asks another.

The gateway never routes `/internal`, but the service port is reachable from inside the
cluster (and on a developer's machine from anything local), so an internal endpoint also
demands a credential only the platform's own processes hold: `INTERNAL_TOKEN`, one random
value the operator generates per platform (Secret `<platform>-internal`) and gives to every
service. Callers send it as `Authorization: Bearer <token>`. An unset token refuses every
caller (closed by default): a service that forgot it fails loudly, nothing answers strangers.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from messaging_kit.problems import Problem

UNAUTHORIZED = Problem(
    401,
    "service-credentials-required",
    "This endpoint is for the platform's own services",
    "send the platform's service credential as `Authorization: Bearer <INTERNAL_TOKEN>`",
    headers={"WWW-Authenticate": 'Bearer realm="internal"'},
)


def internal_headers(token: str) -> dict[str, str]:
    """What a caller sends; nothing when it has no token (the callee then refuses)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def presented(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def require_service_credentials(request: Request) -> None:
    """FastAPI dependency of every internal route (async: a compare, no threadpool hop)."""
    expected = str(getattr(getattr(request.app.state, "settings", None), "internal_token", ""))
    given = presented(request)
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise UNAUTHORIZED


ServiceCaller = Annotated[None, Depends(require_service_credentials)]
