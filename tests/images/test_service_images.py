"""Each service image runs `migrate` and `serve` against the host's real infrastructure (PostgreSQL,
Redis, RabbitMQ, MinIO, the SMTP sink of `make infra-up`) with a read-only root and no
capabilities, answers `/ready`, runs as uid 10001, and carries no installer or compiler."""

from __future__ import annotations

import contextlib
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
from images.engine import HARDENED, Containers, image_config, podman, require_image
from messaging_kit.testing import free_port, fresh_database
from testkit.kube import REPO, eventually

from tests.conftest import S3Settings, SmtpSettings

pytestmark = pytest.mark.images

SERVICES = ["auth", "users", "messages", "groups", "media", "relay", "notifications", "websocket"]
DATABASE_SERVICES = {"auth", "users", "messages", "groups", "media", "notifications"}


@pytest.fixture
def infra(
    redis_url: str, amqp_url: str, s3_settings: S3Settings, smtp_settings: SmtpSettings
) -> dict[str, str]:
    """The settings of `make infra-up`'s servers (tests/conftest.py checks each answers)."""
    return {
        "AMQP_URL": amqp_url,
        "REDIS_URL": redis_url,
        "S3_ENDPOINT_URL": s3_settings.endpoint,
        "S3_ACCESS_KEY": s3_settings.access_key,
        "S3_SECRET_KEY": s3_settings.secret_key,
        "SMTP_HOST": smtp_settings.host,
        "SMTP_PORT": str(smtp_settings.port),
    }


def service_env(service: str, port: int, run_id: str, infra: dict[str, str]) -> dict[str, str]:
    """The settings `make up` gives a service (hack/stack/stack.sh), on this test's own names."""
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "SERVICE_VERSION": "1.0.0",
        "AMQP_URL": infra["AMQP_URL"],
        "JWKS_URL": f"http://127.0.0.1:{free_port()}/.well-known/jwks.json",
        "REDIS_URL": infra["REDIS_URL"],
        "REDIS_KEY_PREFIX": f"images-{run_id}:",
        # The tests' shared Redis may run the fast settings (MP_INFRA_FAST): no append-only file.
        "REDIS_REQUIRE_AOF": "false",
    }
    if service == "auth":
        env["SIGNING_KEYS_DIR"] = "/keys"
        env["PUBLIC_BASE_URL"] = "http://127.0.0.1:8080"
    if service == "media":
        env |= {key: infra[key] for key in ("S3_ENDPOINT_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY")}
        env["S3_BUCKET"] = f"images-{run_id}"
    if service == "notifications":
        env |= {
            "SMTP_HOST": infra["SMTP_HOST"],
            "SMTP_PORT": infra["SMTP_PORT"],
            "SMTP_STARTTLS": "off",
            "APP_URL": "http://127.0.0.1:8080",
        }
    return env


def signing_keys(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        [str(REPO / ".venv/bin/messaging-auth"), "generate-key", str(keys / "test.pem")],
        check=True,
        capture_output=True,
    )
    keys.chmod(0o755)
    (keys / "test.pem").chmod(0o644)  # the container's uid 10001 reads it (a Secret mount's mode)
    return keys


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_migrates_serves_and_is_ready(
    service: str, containers: Containers, tmp_path: Path, infra: dict[str, str]
) -> None:
    image = require_image(service)
    port = free_port()
    env = service_env(service, port, uuid.uuid4().hex[:8], infra)
    with contextlib.ExitStack() as cleanup:
        if service in DATABASE_SERVICES:
            env["DATABASE_URL"] = cleanup.enter_context(fresh_database(f"images_{service}"))
            # Before the drop: the server holds connections to the database.
            cleanup.callback(containers.remove_all)
        options = ["--network", "host", *HARDENED]
        for key, value in env.items():
            options += ["--env", f"{key}={value}"]
        if service == "auth":
            options += ["--volume", f"{signing_keys(tmp_path)}:/keys:ro"]
        if "DATABASE_URL" in env:
            done = podman("run", "--rm", *options, image, "migrate", check=False, timeout=180)
            assert done.returncode == 0, f"{service} migrate failed:\n{done.stderr[-3000:]}"
        name = containers.run(image, "serve", options=tuple(options))
        eventually(
            lambda: containers.running(name) and ready(port), 90, f"{service}'s /ready on {port}"
        )
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001"


@pytest.mark.parametrize("name", [*SERVICES, "operator", "legacy"])
def test_python_images_are_non_root_and_carry_no_installer_or_compiler(name: str) -> None:
    image = require_image(name)
    config = image_config(image)["Config"]
    assert config["User"] == "10001:10001"
    labels = config["Labels"]
    for label in ("title", "version", "revision", "created", "source"):
        assert labels.get(f"org.opencontainers.image.{label}"), label
    found = podman(
        "run", "--rm", *HARDENED, "--entrypoint", "sh", image, "-c",
        "for t in uv pip pip3 gcc cc make; do command -v $t; done; "
        "python3 -c 'import pip' 2>/dev/null && echo pip-module; true",
    ).stdout.split()  # fmt: skip
    assert found == [], f"{image} carries {found}"
