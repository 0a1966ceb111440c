"""A service without a database (relay, websocket) installs messaging-kit without its `db` extra:
its console script and its app must load without SQLAlchemy, alembic, psycopg2 or MinIO. Each
check runs in a fresh interpreter where those imports fail, as they do in that service's image."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK_DB = (
    "import sys\n"
    "for name in ('sqlalchemy', 'alembic', 'psycopg2', 'minio'):\n"
    "    sys.modules[name] = None  # `import name` now raises ImportError\n"
)


@pytest.mark.parametrize("service", ["relay_service", "websocket_service"])
def test_a_service_without_a_database_starts_without_the_db_extra(service: str) -> None:
    code = BLOCK_DB + (
        f"from {service}.__main__ import main\n"
        "sys.argv = ['messaging', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "serve" in done.stdout
    assert "migrate" not in done.stdout


@pytest.mark.parametrize("service", ["relay_service", "websocket_service"])
def test_its_app_loads_without_the_db_extra(service: str) -> None:
    code = BLOCK_DB + f"import {service}.main\nprint('loaded')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
