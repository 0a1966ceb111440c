"""Dependencies: the request's session and who is asking (the kit's, verified against auth's
JWKS)."""

from messaging_kit.request_deps import ReadSessionDep, SessionDep, ViewerId

__all__ = ["ReadSessionDep", "SessionDep", "ViewerId"]
