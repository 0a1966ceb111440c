"""Dependencies of the groups routes: the kit's session, viewer and body-limit dependencies."""

from messaging_kit.request_deps import BodyLimit, SessionDep, ViewerId

__all__ = ["BodyLimit", "SessionDep", "ViewerId"]
