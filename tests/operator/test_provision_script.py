"""The database provisioning Job's script, run for real with psql against PostgreSQL from
`make infra-up` (in the cluster, kwok never runs it: this is where it is proven)."""

from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest
from messaging_operator.builders.infrastructure import PROVISION_SCRIPT
from psycopg2 import sql

pytestmark = pytest.mark.infra

PG_URL = os.environ.get("MP_PG_URL", "postgresql://postgres:postgres@127.0.0.1:15432/postgres")


@pytest.fixture
def admin_env() -> dict[str, str]:
    url = urlsplit(PG_URL)
    try:
        psycopg2.connect(PG_URL, connect_timeout=3).close()
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {url.hostname}:{url.port} is down ({error}): run `make infra-up`"
        )
    return {
        **os.environ,
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
    }


def test_roles_and_databases_are_made_once_and_passwords_kept_current(admin_env):
    prefix = f"mpt{uuid.uuid4().hex[:8]}"
    services = [f"{prefix}_auth", f"{prefix}_users"]
    env = {**admin_env, "SERVICES": " ".join(services)}
    env.update({f"PASSWORD_{s}": f"pw-{s}" for s in services})
    try:
        for _ in range(2):  # the Job may run again (a retry, a new hash): same outcome
            result = subprocess.run(
                ["sh", "-c", PROVISION_SCRIPT], env=env, capture_output=True, text=True,
                timeout=60, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
        env[f"PASSWORD_{services[0]}"] = "rotated"
        subprocess.run(["sh", "-c", PROVISION_SCRIPT], env=env, check=True, timeout=60,
                       capture_output=True)  # fmt: skip
        for service in services:
            password = env[f"PASSWORD_{service}"]
            url = urlsplit(PG_URL)
            conn = psycopg2.connect(
                host=url.hostname, port=url.port, user=service, password=password,
                dbname=service, connect_timeout=5,
            )  # fmt: skip
            with conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE owned_here (id int)")  # the role owns its database
                cur.execute("SELECT current_database(), current_user")
                assert cur.fetchone() == (service, service)
            conn.close()
    finally:
        conn = psycopg2.connect(PG_URL, connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            for service in services:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(service)))
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(service)))
        conn.close()
