"""hack/infra.sh agrees with the test defaults and reports every server as running."""

import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import redis

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "hack" / "infra.sh"
DURABLE_PG = ("fsync", "synchronous_commit", "full_page_writes")

# The defaults every suite uses (tests/conftest.py, services' settings).
EXPECTED = {
    "MP_PG_URL": "postgresql://postgres:postgres@127.0.0.1:15432/postgres",
    "MP_REDIS_URL": "redis://127.0.0.1:16379/0",
    "MP_AMQP_URL": "amqp://platform:platform@127.0.0.1:15673/%2F",
    "MP_S3_ENDPOINT": "http://127.0.0.1:19000",
    "MP_S3_ACCESS_KEY": "platform",
    "MP_S3_SECRET_KEY": "platform-secret",
    "MP_SMTP_HOST": "127.0.0.1",
    "MP_SMTP_PORT": "11025",
}


def test_env_prints_the_shared_settings() -> None:
    out = subprocess.run([INFRA, "env"], check=True, capture_output=True, text=True).stdout
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in out.splitlines()
    )
    assert {k: exports[k] for k in EXPECTED} == EXPECTED
    assert exports["MP_SMTP_MAILDIR"].endswith("/messaging-platform/smtp")


@pytest.mark.infra
def test_status_reports_every_server_running() -> None:
    result = subprocess.run([INFRA, "status"], capture_output=True, text=True)
    assert result.returncode == 0, f"run `make infra-up`:\n{result.stdout}{result.stderr}"
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert {row[0]: row[1] for row in rows} == dict.fromkeys(
        ["postgres", "redis", "rabbitmq", "minio", "smtp"], "running"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_infra(tmp_path: Path) -> Iterator[tuple[dict[str, str], Callable[..., str]]]:
    """hack/infra.sh for a private PostgreSQL and Redis (own MP_CACHE and ports)."""
    env = {
        **os.environ,
        "MP_CACHE": str(tmp_path / "cache"),
        "MP_PG_PORT": str(_free_port()),
        "MP_REDIS_PORT": str(_free_port()),
    }
    env.pop("MP_INFRA_FAST", None)

    def run(*args: str, **extra: str) -> str:
        result = subprocess.run(
            [INFRA, *args], env={**env, **extra}, capture_output=True, text=True, timeout=120
        )
        # status exits 1 here: the private set runs only PostgreSQL and Redis.
        assert result.returncode == 0 or args[0] == "status", result.stdout + result.stderr
        return result.stdout + result.stderr

    # Never start, stop or delete anything unless the script puts this set apart from the shared
    # servers (a script without MP_CACHE-private PostgreSQL data would stop the shared one).
    shared = {line.split()[0]: line.split()[-1] for line in _status(os.environ)}
    private = {line.split()[0]: line.split()[-1] for line in _status(env)}
    pg_dir = Path(private["postgres"]).parent
    if private["postgres"] == shared["postgres"] or not pg_dir.name.startswith(
        "messaging-platform-"
    ):
        pytest.fail(f"hack/infra.sh puts a private MP_CACHE's PostgreSQL at {private['postgres']}")
    try:
        yield env, run
    finally:
        subprocess.run([INFRA, "down", "postgres", "redis"], env=env, capture_output=True)
        if pg_dir.parent != Path(env["MP_CACHE"]):  # as root: outside MP_CACHE
            shutil.rmtree(pg_dir, ignore_errors=True)


def _status(env: Any) -> list[str]:
    out = subprocess.run([INFRA, "status"], env=env, capture_output=True, text=True).stdout
    return [line for line in out.splitlines()[1:] if line.strip()]


def settings_of(status: str) -> dict[str, str]:
    rows = [line.split() for line in status.splitlines() if line and not line.startswith("(")]
    header = rows[0]
    return {row[0]: row[header.index("SETTINGS")] for row in rows[1:]}


def test_stores_are_durable_by_default_and_fast_only_when_asked(private_infra: Any) -> None:
    env, run = private_infra
    run("up", "postgres", "redis")
    pg = psycopg2.connect(f"postgresql://postgres:postgres@127.0.0.1:{env['MP_PG_PORT']}/postgres")
    with pg.cursor() as cur:
        shown = []
        for name in DURABLE_PG:
            cur.execute(f"SHOW {name}")
            shown.append(cur.fetchone())
    pg.close()
    assert shown == [("on",)] * 3
    r = redis.Redis(port=int(env["MP_REDIS_PORT"]), decode_responses=True)
    settings = r.config_get("append*")
    r.close()
    assert (settings["appendonly"], settings["appendfsync"]) == ("yes", "everysec")
    assert settings_of(run("status"))["postgres"] == "durable"

    # A running server keeps its settings; `up` says how to change them.
    out = run("up", "postgres", "redis", MP_INFRA_FAST="1")
    assert "runs with durable settings, not the fast ones asked for" in out
    assert "MP_INFRA_FAST=1 hack/infra.sh restart redis" in out
    assert settings_of(run("status")) == {
        "postgres": "durable",
        "redis": "durable",
        "rabbitmq": "-",
        "minio": "-",
        "smtp": "-",
    }

    run("restart", "postgres", "redis", MP_INFRA_FAST="1")
    assert {k: v for k, v in settings_of(run("status")).items() if v != "-"} == {
        "postgres": "fast",
        "redis": "fast",
    }


def test_redis_keeps_its_data_across_a_change_of_settings_and_a_kill(private_infra: Any) -> None:
    env, run = private_infra

    def client() -> redis.Redis:
        return redis.Redis(port=int(env["MP_REDIS_PORT"]), decode_responses=True)

    run("up", "redis", MP_INFRA_FAST="1")
    client().set("written-fast", "1")
    # To durable: Redis started with appendonly yes would ignore the snapshot and come up empty.
    run("restart", "redis")
    assert client().get("written-fast") == "1"
    client().set("written-durable", "1")
    status = {row.split()[0]: row.split() for row in _status(env)}
    os.kill(int(status["redis"][2]), 9)  # acknowledged a moment ago, no snapshot since
    run("up", "redis")
    assert client().mget("written-fast", "written-durable") == ["1", "1"]
    run("restart", "redis", MP_INFRA_FAST="1")  # and back to fast
    assert client().mget("written-fast", "written-durable") == ["1", "1"]
