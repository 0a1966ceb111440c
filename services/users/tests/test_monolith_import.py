"""`messaging-users migrate-from-monolith` on a generated legacy database of 10k users."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import bcrypt
import pytest
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import fill_legacy_users, fresh_database
from sqlalchemy import create_engine, text
from users_service.monolith import import_profiles

pytestmark = pytest.mark.infra
LEGACY_USERS = 10_000


@pytest.fixture
def legacy_url() -> Iterator[str]:
    with fresh_database("legacy") as url:
        hashed = bcrypt.hashpw(b"legacy password", bcrypt.gensalt(rounds=4)).decode()
        fill_legacy_users(url, LEGACY_USERS, hashed)
        yield url


def run_cli(legacy_url: str, users_url: str) -> str:
    env = os.environ | {
        "DATABASE_URL": users_url,
        "AMQP_URL": "amqp://unused@127.0.0.1:1/",
        "JWKS_URL": "http://127.0.0.1:1/.well-known/jwks.json",
    }
    result = subprocess.run(
        [sys.executable, "-m", "users_service", "migrate-from-monolith", "--source", legacy_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_is_resumable_and_idempotent(legacy_url: str) -> None:
    with fresh_database("users") as users_url:
        upgrade_head("users_service", users_url)
        engine = create_engine(users_url.replace("postgresql://", "postgresql+psycopg2://"))

        def profiles() -> int:
            with engine.connect() as connection:
                return connection.execute(text("SELECT count(*) FROM profiles")).scalar_one()

        # Interrupted after three batches.
        partial = import_profiles(legacy_url, users_url, batch_size=1000, stop_after_batches=3)
        assert (partial.read, partial.inserted, partial.completed) == (3000, 3000, False)
        assert profiles() == 3000

        # The real command resumes where it stopped.
        out = run_cli(legacy_url, users_url)
        assert "complete" in out
        assert "resumed from checkpoint" in out
        assert f"legacy rows {LEGACY_USERS}, read 7000, inserted 7000" in out
        assert profiles() == LEGACY_USERS

        # A second full run rescans and changes nothing.
        again = import_profiles(legacy_url, users_url)
        assert (again.read, again.inserted, again.completed) == (LEGACY_USERS, 0, True)
        assert profiles() == LEGACY_USERS

        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT * FROM profiles WHERE username = 'legacy42'")
            ).one()
            nameless = connection.execute(
                text("SELECT display_name FROM profiles WHERE username = 'legacy40'")
            ).scalar_one()
        engine.dispose()
        assert (row.display_name, row.email, row.public_key) == (
            "Legacy User 42",
            "legacy42@example.com",
            "pk-42",
        )
        assert nameless == "legacy40"  # no full name: the username stands in
