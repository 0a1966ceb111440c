"""SQLAlchemy 2 engine (pooled) and one session per request."""

from __future__ import annotations

import logging
import select
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from messaging_kit.settings import DatabaseSettings

log = logging.getLogger(__name__)
# Connections older than this are replaced at checkout: bounds how long a connection a
# firewall or a failover silently dropped can linger in the pool.
POOL_RECYCLE_SECONDS = 600


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (what operators write) and use psycopg2 for them."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def connection_was_dropped(dbapi_connection: Any) -> bool:
    """True when an idle pooled connection can no longer be used, found without a round trip.

    An idle PostgreSQL connection has nothing to read. When the server ends the backend
    (pg_terminate_backend, a restart, idle timeouts) it sends a FATAL error and closes the
    socket, which makes the socket readable: one non-blocking poll instead of a `SELECT 1`.
    """
    if dbapi_connection.closed:
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _refuse_dropped_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if connection_was_dropped(dbapi_connection):
            log.info("dropped database connection replaced at checkout")
            # The pool discards this connection and checks out (or opens) another one.
            raise exc.DisconnectionError("the server closed this pooled connection")


class Database:
    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        """The service's database as its settings say (DATABASE_URL, DB_POOL_SIZE, ...)."""
        return cls(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            connect_timeout=settings.db_connect_timeout_seconds,
            pool_timeout=settings.db_pool_timeout_seconds,
        )

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 20,
        connect_timeout: int = 2,
        pool_timeout: float = 5.0,
    ) -> None:
        self.engine: Engine = create_engine(
            normalize_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            # A server that does not answer (hung, or a half-open address) fails the request
            # after this long instead of holding it for the OS' TCP timeout: a 503 the client
            # retries (messaging_kit.unavailable). libpq counts whole seconds, at least 2.
            connect_args={"connect_timeout": connect_timeout},
            # Every pooled connection busy (a slow or blocked server): give up after this long.
            pool_timeout=pool_timeout,
            # No pre-ping round trip per checkout: a dropped connection is found by polling
            # its socket (above), and an old one is recycled.
            pool_pre_ping=False,
            pool_recycle=POOL_RECYCLE_SECONDS,
        )
        _refuse_dropped_connections(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The same pool without transactions (psycopg2's autocommit is a client-side flag).
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_sessions = sessionmaker(self.autocommit, expire_on_commit=False)

    @asynccontextmanager
    async def request_session(self) -> AsyncIterator[Session]:
        """For an async FastAPI dependency (messaging_kit.request_deps): a session that rolls
        back whatever the route left uncommitted, made on the event loop (no I/O until the
        route's thread uses it), closed there too unless a transaction is still open (a read
        that did not commit), whose rollback is a round trip: then in the threadpool. A sync
        generator dependency costs two threadpool hops per request instead."""
        session = self.sessions()
        try:
            yield session
        finally:
            if session.in_transaction():
                await run_in_threadpool(session.close)
            else:
                session.close()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[Session]:
        """For a route that only reads: each statement runs on its own, outside a transaction
        (READ COMMITTED gives every statement its own snapshot either way), so no BEGIN and no
        ROLLBACK round trips. Closing it does no I/O: done on the event loop."""
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.close()

    def read_row(self, statement: Executable, params: Mapping[str, Any]) -> RowMapping | None:
        """The first row of one read-only statement, outside any transaction: a lone SELECT
        needs none, and psycopg2 opens one with a BEGIN round trip, then the pool ends it with
        a ROLLBACK round trip (three round trips for one read; this is one)."""
        with self.autocommit.connect() as connection:
            return connection.execute(statement, params).mappings().first()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
