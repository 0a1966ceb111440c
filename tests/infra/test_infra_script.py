"""hack/infra.sh agrees with the test defaults and reports every server as running."""

import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "hack" / "infra.sh"

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
