"""PostgreSQL from `make infra-up` is real: a table survives an insert and a select."""

import uuid

import psycopg2
import pytest
from psycopg2 import sql

pytestmark = pytest.mark.infra


def test_sql_round_trip(pg_url: str) -> None:
    table = sql.Identifier(f"infra_check_{uuid.uuid4().hex[:12]}")
    conn = psycopg2.connect(pg_url, connect_timeout=5)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, body text NOT NULL)").format(table)
            )
            cur.execute(
                sql.SQL("INSERT INTO {} (body) VALUES (%s), (%s)").format(table), ("hello", "world")
            )
            cur.execute(sql.SQL("SELECT body FROM {} ORDER BY id").format(table))
            assert [row[0] for row in cur.fetchall()] == ["hello", "world"]
            cur.execute("SHOW server_version_num")
            assert cur.fetchone()[0].startswith("15")
    finally:
        with conn, conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        conn.close()
