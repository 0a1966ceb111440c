"""Shared fixtures: connection settings of the local infrastructure started by `make infra-up`.

Every setting comes from the MP_* variables that `hack/infra.sh env` prints, with the same
defaults, so tests run unchanged with or without `source ~/.cache/messaging-platform/infra.env`.
Each fixture first checks that its server accepts connections and fails (never skips) if not.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest


def _cache_dir() -> Path:
    # Same rule as hack/lib/common.sh.
    if "MP_CACHE" in os.environ:
        return Path(os.environ["MP_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "messaging-platform"


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    maildir: Path


def require_server(name: str, host: str, port: int) -> None:
    """Fails the test with the fix when nothing listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as err:
        pytest.fail(
            f"{name} is not reachable at {host}:{port} ({err}): run `make infra-up`",
            pytrace=False,
        )


def _require_url(name: str, url: str, default_port: int) -> str:
    parts = urlsplit(url)
    require_server(name, parts.hostname or "127.0.0.1", parts.port or default_port)
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("MP_PG_URL", "postgresql://postgres:postgres@127.0.0.1:15432/postgres")
    return _require_url("PostgreSQL", url, 5432)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("MP_REDIS_URL", "redis://127.0.0.1:16379/0")
    return _require_url("Redis", url, 6379)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    url = os.environ.get("MP_AMQP_URL", "amqp://platform:platform@127.0.0.1:15673/%2F")
    return _require_url("RabbitMQ", url, 5672)


@pytest.fixture(scope="session")
def s3_settings() -> S3Settings:
    settings = S3Settings(
        endpoint=os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000"),
        access_key=os.environ.get("MP_S3_ACCESS_KEY", "platform"),
        secret_key=os.environ.get("MP_S3_SECRET_KEY", "platform-secret"),
    )
    _require_url("MinIO (S3)", settings.endpoint, 80)
    return settings


@pytest.fixture(scope="session")
def smtp_settings() -> SmtpSettings:
    settings = SmtpSettings(
        host=os.environ.get("MP_SMTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("MP_SMTP_PORT", "11025")),
        maildir=Path(os.environ.get("MP_SMTP_MAILDIR", str(_cache_dir() / "smtp"))),
    )
    require_server("SMTP sink", settings.host, settings.port)
    return settings


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The crash tables (tests/crash, tests/node/test_crash.py) in pytest's summary; the
    harness is looked up, not imported, so a run without them prints nothing."""
    harness = sys.modules.get("crash.harness")
    for report in getattr(harness, "REPORT", []):
        terminalreporter.write_line("")
        for line in report.splitlines():
            terminalreporter.write_line(line)
