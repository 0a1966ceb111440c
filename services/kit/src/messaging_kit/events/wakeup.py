"""Waking the outbox relay when an event commits: PostgreSQL LISTEN/NOTIFY.

add_event() calls pg_notify in the writer's transaction, so the notification is delivered
when (and only if) that transaction commits. The relay waits on a dedicated connection that
LISTENs, with a timeout: a notification missed while that connection was being replaced
costs at most one timeout of latency, never an event (the relay polls on each timeout).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
from typing import Any

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
# One channel per database: every service's outbox table lives in its own database.
OUTBOX_CHANNEL = "messaging_outbox"


class OutboxWakeup:
    def __init__(self, engine: Engine, channel: str = OUTBOX_CHANNEL) -> None:
        self.engine = engine
        self.channel = channel
        self._connection: Any = None
        # stop() writes here so a wait returns at once instead of at its timeout.
        self._interrupt_r, self._interrupt_w = socket.socketpair()
        self._interrupt_r.setblocking(False)

    def listen(self) -> bool:
        """Open the listening connection if there is none; False when that failed."""
        if self._connection is not None:
            return True
        try:
            cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
            connection = psycopg2.connect(*cargs, **cparams)
            connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with connection.cursor() as cursor:
                cursor.execute(f'LISTEN "{self.channel}"')
        except psycopg2.Error as error:
            log.warning("outbox LISTEN failed, polling instead", extra={"error": repr(error)})
            return False
        self._connection = connection
        return True

    def wait(self, timeout: float) -> bool:
        """Block until a notification (True) or the timeout / an interrupt (False)."""
        listening = self.listen()
        connection = self._connection
        if listening and connection.notifies:
            connection.notifies.clear()
            return True
        watched: list[Any] = [self._interrupt_r]
        if listening:
            watched.append(connection)
        try:
            readable, _, _ = select.select(watched, [], [], timeout)
        except (OSError, ValueError) as error:
            self._drop(error)
            return False
        if self._interrupt_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._interrupt_r.recv(4096)
        if listening and connection in readable:
            try:
                connection.poll()
            except psycopg2.Error as error:
                self._drop(error)
                return False
            if connection.notifies:
                connection.notifies.clear()
                return True
        return False

    def interrupt(self) -> None:
        with contextlib.suppress(OSError):
            self._interrupt_w.send(b"x")

    def _drop(self, error: Exception) -> None:
        log.warning("outbox LISTEN connection lost, reopening", extra={"error": repr(error)})
        self.close_connection()

    def close_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        self.close_connection()
        self._interrupt_r.close()
        self._interrupt_w.close()
