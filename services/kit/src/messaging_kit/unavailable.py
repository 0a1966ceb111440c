"""A store that is down, restarting or not answering in time is the client's cue to retry.

Requests that fail on one (PostgreSQL refused or dropped the connection, is still recovering,
gave up a serialization race; the pool had no connection within its timeout; Redis refused,
timed out or is loading its data) answer 503 `unavailable` with `Retry-After`, at once: no
stall, and a retrying client (with an idempotency key where it writes) gets its answer when
the store is back. Anything else stays a 500.
"""

from __future__ import annotations

import sys

RETRY_AFTER_SECONDS = 1


def _classes(module: str, *names: str) -> tuple[type[BaseException], ...]:
    # Only the stores this service imported: sqlalchemy and redis are optional in the kit.
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names if hasattr(loaded, name))


def is_store_unavailable(error: BaseException) -> bool:
    transient = (
        *_classes("sqlalchemy.exc", "OperationalError", "TimeoutError", "DisconnectionError"),
        *_classes("redis.exceptions", "ConnectionError", "TimeoutError", "BusyLoadingError"),
    )
    if transient and isinstance(error, transient):
        return True
    invalidated = getattr(error, "connection_invalidated", False)  # sqlalchemy DBAPIError
    return bool(invalidated)
