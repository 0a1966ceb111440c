"""Dependencies of the messages routes: the kit's session, viewer and body-limit dependencies."""

from messaging_kit.request_deps import BodyLimit, ReadSessionDep, SessionDep, ViewerId

__all__ = ["BodyLimit", "ReadSessionDep", "SessionDep", "ViewerId"]
