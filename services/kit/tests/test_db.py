"""The pool survives a killed PostgreSQL backend without a pre-ping round trip per checkout."""

from __future__ import annotations

import socket

import psycopg2
import pytest
from messaging_kit.db import Database, connection_was_dropped
from messaging_testing.infra import fresh_database, infra_url, wait_for
from sqlalchemy import text

pytestmark = pytest.mark.infra


def backend_pid(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")) or 0)


def test_a_terminated_backend_is_replaced_at_checkout_not_failed() -> None:
    with fresh_database("kit") as url:
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            before = backend_pid(db)  # the pool's only connection, now idle in the pool
            admin = psycopg2.connect(infra_url("MP_PG_URL"))
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", (before,))
                assert cursor.fetchone() == (True,)

                def gone() -> bool:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (before,)
                    )
                    row = cursor.fetchone()
                    return row is not None and row[0] == 0

                wait_for(gone, timeout=10, interval=0.05)
            admin.close()
            # Without the checkout check this query fails with "server closed the connection".
            after = backend_pid(db)
            assert after != before
            assert backend_pid(db) == after  # the replacement is pooled, not reopened each time
        finally:
            db.close()


class FakeConnection:
    def __init__(self, sock: socket.socket, closed: int = 0) -> None:
        self.sock, self.closed = sock, closed

    def fileno(self) -> int:
        return self.sock.fileno()


def test_an_idle_socket_is_kept_and_a_readable_or_closed_one_dropped() -> None:
    ours, server = socket.socketpair()
    with ours, server:
        assert not connection_was_dropped(FakeConnection(ours))
        assert connection_was_dropped(FakeConnection(ours, closed=1))
        server.sendall(b"E")  # what a FATAL error from the server looks like: bytes unasked
        assert connection_was_dropped(FakeConnection(ours))
