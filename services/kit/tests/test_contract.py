"""Expand/contract: `migrate` holds back a revision marked `contract = True` while another
version still runs, against real PostgreSQL with a throwaway alembic package."""

from __future__ import annotations

import contextlib
import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from messaging_kit import backup
from messaging_kit.cli import ServiceCli
from messaging_kit.migrations import contract_blocker
from messaging_kit.settings import DatabaseSettings
from messaging_testing.infra import fresh_database

pytestmark = pytest.mark.infra

ENV_PY = "from messaging_kit.migrations import run_online\nfrom sqlalchemy import MetaData\n\n"
ENV_PY += "run_online(MetaData())\n"
REVISIONS = {
    "0001_notes.py": """
revision, down_revision = "0001", None
from alembic import op

def upgrade():
    op.execute("CREATE TABLE notes (id int PRIMARY KEY, title text, legacy_title text)")
""",
    "0002_index.py": """
revision, down_revision = "0002", "0001"
from alembic import op

def upgrade():
    op.execute("CREATE INDEX ix_notes_title ON notes (title)")
""",
    "0003_drop_legacy.py": '''
"""Drops a column version 1.0.0 still reads: only once 1.0.0 is gone."""
revision, down_revision = "0003", "0002"
contract = True
from alembic import op

def upgrade():
    op.execute("ALTER TABLE notes DROP COLUMN legacy_title")
''',
}


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"contract_pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    (root / "alembic" / "versions").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/alembic\n")
    (root / "alembic" / "env.py").write_text(ENV_PY)
    for filename, text in REVISIONS.items():
        (root / "alembic" / "versions" / filename).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with fresh_database("contract") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("SERVICE_VERSION", "1.1.0")
        yield url


def revision(url: str) -> str:
    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version_num FROM alembic_version")
        return str(cursor.fetchone()[0])


def migrate(package: str, *args: str) -> int:
    cli = ServiceCli(
        service="notes",
        app_factory="unused:create_app",
        settings=lambda: DatabaseSettings(),  # type: ignore[call-arg]
        migrations_package=package,
    )
    return cli.main(["migrate", *args])


def test_contract_waits_while_an_older_version_runs(
    package, database, monkeypatch, capsys, tmp_path
):
    termination = tmp_path / "termination-log"
    termination.write_text("")
    monkeypatch.setattr(backup, "TERMINATION_LOG", str(termination))
    monkeypatch.setenv("RUNNING_VERSIONS", "1.0.0")
    assert migrate(package) == 0
    # Where Kubernetes shows it: the operator runs `migrate --allow-contract` after the rollout.
    assert termination.read_text() == "contract-deferred: 0003"
    assert revision(database) == "0002"  # the expanding revisions before it went in
    err = capsys.readouterr().err
    assert "contracting migration 0003 not applied" in err
    assert "version(s) 1.0.0 still run beside 1.1.0" in err
    # Once only 1.1.0 runs, the same command applies it.
    monkeypatch.setenv("RUNNING_VERSIONS", "1.1.0")
    assert migrate(package) == 0
    assert revision(database) == "0003"


def test_contract_needs_to_know_what_runs_or_an_explicit_allowance(package, database, monkeypatch):
    monkeypatch.delenv("RUNNING_VERSIONS", raising=False)
    assert migrate(package) == 0
    assert revision(database) == "0002"
    assert migrate(package, "--allow-contract") == 0
    assert revision(database) == "0003"


def test_a_fresh_install_with_nothing_running_migrates_to_head(package, database, monkeypatch):
    monkeypatch.setenv("RUNNING_VERSIONS", "")
    assert migrate(package) == 0
    assert revision(database) == "0003"


def test_blocker_rules():
    assert contract_blocker("1.0.0,1.1.0", "1.1.0", allowed=False) == (
        "version(s) 1.0.0 still run beside 1.1.0"
    )
    assert contract_blocker("1.1.0", "1.1.0", allowed=False) is None
    assert contract_blocker("", "1.1.0", allowed=False) is None
    assert contract_blocker(None, "1.1.0", allowed=True) is None
    assert "RUNNING_VERSIONS is not set" in str(contract_blocker(None, "1.1.0", allowed=False))
