"""The test helpers themselves: a database is dropped even if PostgreSQL dropped us."""

from __future__ import annotations

import psycopg2
import pytest
from messaging_testing.infra import fresh_database, infra_url

pytestmark = pytest.mark.infra


def exists(name: str) -> bool:
    with psycopg2.connect(infra_url("MP_PG_URL")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        found = cursor.fetchone() is not None
    connection.close()
    return found


def test_the_database_is_dropped_after_the_admin_session_was_killed() -> None:
    with fresh_database("helper") as url:
        name = url.rsplit("/", 1)[1]
        assert exists(name)
        # What a PostgreSQL restart does to the helper's admin session.
        with psycopg2.connect(infra_url("MP_PG_URL")) as killer, killer.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (f"fresh-database-{name}",),
            )
            assert cursor.fetchone() == (True,)
        killer.close()
    assert not exists(name)
