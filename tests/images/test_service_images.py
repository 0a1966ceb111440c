"""Each service image runs `migrate` and `serve` against the host's real infrastructure (PostgreSQL,
Redis, RabbitMQ, MinIO, the SMTP sink of `make infra-up`) with a read-only root and no
capabilities, answers `/ready`, runs as uid 10001, and carries no installer or compiler."""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from pathlib import Path

import psycopg2
import pytest
from images.engine import (
    HARDENED,
    Containers,
    free_port,
    image_config,
    infra_env,
    podman,
    require_image,
    wait_until,
)
from testkit.kube import REPO

pytestmark = pytest.mark.images

SERVICES = ["auth", "users", "messages", "groups", "media", "relay", "notifications", "websocket"]
DATABASE_SERVICES = {"auth", "users", "messages", "groups", "media", "notifications"}


def service_env(service: str, port: int, run_id: str) -> dict[str, str]:
    """The settings `make up` gives a service (hack/stack/stack.sh), on this test's own names."""
    infra = infra_env()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "SERVICE_VERSION": "1.0.0",
        "AMQP_URL": infra["MP_AMQP_URL"],
        "JWKS_URL": f"http://127.0.0.1:{free_port()}/.well-known/jwks.json",
        "REDIS_URL": infra["MP_REDIS_URL"],
        "REDIS_KEY_PREFIX": f"images-{run_id}:",
        # The tests' shared Redis may run the fast settings (MP_INFRA_FAST): no append-only file.
        "REDIS_REQUIRE_AOF": "false",
    }
    if service in DATABASE_SERVICES:
        env["DATABASE_URL"] = f"{infra['MP_PG_URL'].rsplit('/', 1)[0]}/images_{service}_{run_id}"
    if service == "auth":
        env["SIGNING_KEYS_DIR"] = "/keys"
        env["PUBLIC_BASE_URL"] = "http://127.0.0.1:8080"
    if service == "media":
        env |= {
            "S3_ENDPOINT_URL": infra["MP_S3_ENDPOINT"],
            "S3_ACCESS_KEY": infra["MP_S3_ACCESS_KEY"],
            "S3_SECRET_KEY": infra["MP_S3_SECRET_KEY"],
            "S3_BUCKET": f"images-{run_id}",
        }
    if service == "notifications":
        env |= {
            "SMTP_HOST": infra["MP_SMTP_HOST"],
            "SMTP_PORT": infra["MP_SMTP_PORT"],
            "SMTP_STARTTLS": "off",
            "APP_URL": "http://127.0.0.1:8080",
        }
    return env


def create_database(name: str) -> None:
    conn = psycopg2.connect(infra_env()["MP_PG_URL"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop_database(name: str) -> None:
    conn = psycopg2.connect(infra_env()["MP_PG_URL"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


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
    service: str, containers: Containers, tmp_path: Path
) -> None:
    image = require_image(service)
    run_id = uuid.uuid4().hex[:8]
    port = free_port()
    env = service_env(service, port, run_id)
    options = ["--network", "host", *HARDENED]
    for key, value in env.items():
        options += ["--env", f"{key}={value}"]
    if service == "auth":
        options += ["--volume", f"{signing_keys(tmp_path)}:/keys:ro"]
    database = env.get("DATABASE_URL", "").rsplit("/", 1)[-1]
    if database:
        create_database(database)
    try:
        if database:
            done = podman("run", "--rm", *options, image, "migrate", check=False, timeout=180)
            assert done.returncode == 0, f"{service} migrate failed:\n{done.stderr[-3000:]}"
        name = containers.run(image, "serve", options=tuple(options))
        wait_until(
            lambda: containers.running(name) and ready(port), 90, f"{service}'s /ready on {port}"
        )
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    finally:
        if database:
            containers.remove_all()
            drop_database(database)


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
