"""The console script as the operator's Jobs run it: `migrate`, and bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from messaging_testing.infra import fresh_database
from sqlalchemy import create_engine, inspect


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auth_service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_setting_prints_one_line_and_exits_2() -> None:
    result = run("migrate", env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("messaging-auth: bad settings:")
    assert "DATABASE_URL is required" in lines[0]
    assert "SIGNING_KEYS_DIR is required" in lines[0]
    assert "Traceback" not in result.stderr


def test_generate_key_needs_no_settings(tmp_path: Path) -> None:
    result = run("generate-key", str(tmp_path / "2026-02-01.pem"), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "2026-02-01.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_migrate_exits_75_while_the_database_is_unreachable(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "AMQP_URL": "amqp://unused@127.0.0.1:1/",
        "SIGNING_KEYS_DIR": str(tmp_path),
    }
    result = run("migrate", env=env)
    assert result.returncode == 75, result.stderr
    assert result.stderr.startswith("messaging-auth: database not reachable:")
    assert "Traceback" not in result.stderr


@pytest.mark.infra
def test_migrate_brings_a_fresh_database_to_head_twice_over(tmp_path: Path) -> None:
    with fresh_database("auth_cli") as url:
        env = os.environ | {
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "AMQP_URL": "amqp://unused@127.0.0.1:1/",
            "SIGNING_KEYS_DIR": str(tmp_path),
        }
        for _ in range(2):
            result = run("migrate", env=env)
            assert result.returncode == 0, result.stderr
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {"users", "refresh_tokens", "outbox", "alembic_version"} <= tables
        assert '"message": "migrations at head"' in result.stdout


@pytest.mark.infra
def test_serve_drains_in_flight_requests_on_sigterm(serve_auth: Any) -> None:
    """SIGTERM: stop accepting, finish the request in flight, run shutdown hooks, exit 0."""
    import signal
    import threading
    import time

    import httpx

    # A deliberately slow hash makes registration the request in flight.
    served = serve_auth(ARGON2_TIME_COST="40", ARGON2_MEMORY_KIB="8192")
    outcome: dict[str, int] = {}

    def register() -> None:
        response = httpx.post(
            f"{served.base}/api/v1/auth/register",
            json={"email": "slow@example.com", "username": "slow", "password": "slow but sure"},
            timeout=30,
        )
        outcome["status"] = response.status_code

    started = time.monotonic()
    in_flight = threading.Thread(target=register)
    in_flight.start()
    time.sleep(0.15)
    server = served.process
    server.send_signal(signal.SIGTERM)
    in_flight.join(30)
    output, _ = server.communicate(timeout=30)
    assert outcome.get("status") == 201, output
    assert time.monotonic() - started > 0.15
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
    assert server.returncode in (0, -15), output
    assert '"message": "service stopped"' in output
