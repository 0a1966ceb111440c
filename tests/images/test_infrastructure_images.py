"""The managed-mode images (PostgreSQL, Redis, RabbitMQ, MinIO) run as the operator's
StatefulSets run them, pass their readiness probes, and accept a real client: psycopg2, redis-py,
pika and the MinIO SDK from the auth image, in the server's own network namespace. The
provisioning Job's script runs in the PostgreSQL image against the server and makes a role and
a database that the client then logs into."""

from __future__ import annotations

import pytest
from images.engine import Containers, image_ref, require_image
from images.pods import probe_passes, run_job, start_pod
from messaging_operator.builders.infrastructure import (
    build_database_provision_job,
    build_minio,
    build_postgres,
    build_rabbitmq,
    build_redis,
)
from messaging_operator.spec import DATABASE_SERVICES, Platform, parse_platform
from testkit.kube import eventually

pytestmark = pytest.mark.images

SECRETS = {
    "chat-postgres-admin/username": "postgres",
    "chat-postgres-admin/password": "admin-secret",
    "chat-db-auth/password": "auth-secret",
    "chat-redis/password": "redis-secret",
    "chat-rabbitmq/username": "platform",
    "chat-rabbitmq/password": "rabbit-secret",
    "chat-rabbitmq/erlang-cookie": "COOKIECOOKIECOOKIE",
    "chat-objectstorage/accessKey": "platform",
    "chat-objectstorage/secretKey": "minio-secret",
}


def managed_platform() -> Platform:
    # The repository the images were built under, so the builders name exactly those images.
    repository = image_ref("postgres").rsplit("/", 1)[0]
    return parse_platform(
        {
            "apiVersion": "messaging.platform.dev/v1alpha1",
            "kind": "MessagingPlatform",
            "metadata": {"name": "chat", "namespace": "team", "uid": "u", "generation": 1},
            "spec": {"version": "1.0.0", "imageRepository": repository},
        }
    )


def statefulset(objects: list[dict]) -> dict:
    return next(o for o in objects if o["kind"] == "StatefulSet")


def client(containers: Containers, server: str, code: str, timeout: float = 60) -> str:
    done = containers.exec_in_netns(
        server, require_image("auth"), "-c", code, entrypoint="python3", timeout=timeout
    )
    assert done.returncode == 0, f"client failed:\n{done.stderr[-3000:]}\n{containers.logs(server)}"
    return done.stdout


def ready(containers: Containers, run, timeout: float = 90) -> None:
    auth = require_image("auth")
    eventually(lambda: probe_passes(containers, run, auth), timeout, f"{run.name} to be ready")


def test_postgres_initialises_accepts_logins_and_runs_the_provision_job(
    containers: Containers,
) -> None:
    platform = managed_platform()
    image = require_image("postgres")
    server = start_pod(containers, statefulset(build_postgres(platform)), image, SECRETS)
    ready(containers, server)
    # The provisioning Job's own container, in the server's network namespace.
    job = build_database_provision_job(platform)
    assert job is not None
    secrets = {**SECRETS, **{f"chat-db-{s}/password": f"{s}-secret" for s in
                             sorted(DATABASE_SERVICES)}}  # fmt: skip
    # The Job's container in the server's network namespace; the Service name becomes loopback.
    done = run_job(containers, job, image, secrets, network=f"container:{server.name}",
                   env_overrides={"PGHOST": "127.0.0.1"})  # fmt: skip
    assert done.returncode == 0, f"provision script failed:\n{done.stdout}\n{done.stderr}"
    code = (
        "import psycopg2\n"
        "c = psycopg2.connect(host='127.0.0.1', user='auth', password='auth-secret',"
        " dbname='auth')\n"
        "cur = c.cursor(); cur.execute('select current_user, current_database(), version()')\n"
        "print(cur.fetchone())\n"
    )
    out = client(containers, server.name, code)
    assert "('auth', 'auth', 'PostgreSQL 15" in out


def test_redis_takes_the_operators_command_and_a_password(containers: Containers) -> None:
    server = start_pod(
        containers, statefulset(build_redis(managed_platform())), require_image("redis"), SECRETS
    )
    ready(containers, server)
    out = client(
        containers,
        server.name,
        "import redis\n"
        "r = redis.Redis(host='127.0.0.1', password='redis-secret')\n"
        "r.set('k', 'v'); print(r.get('k'), r.config_get('appendonly'))\n"
        "try:\n"
        "    redis.Redis(host='127.0.0.1').ping(); print('no password needed')\n"
        "except redis.AuthenticationError: print('password required')\n",
    )
    assert "b'v' {'appendonly': 'yes'}" in out
    assert "password required" in out


def test_rabbitmq_starts_with_the_default_user_and_carries_a_message(
    containers: Containers,
) -> None:
    server = start_pod(
        containers,
        statefulset(build_rabbitmq(managed_platform())),
        require_image("rabbitmq"),
        SECRETS,
    )
    ready(containers, server, timeout=180)
    out = client(
        containers,
        server.name,
        "import pika\n"
        "p = pika.URLParameters('amqp://platform:rabbit-secret@127.0.0.1:5672/%2F')\n"
        "c = pika.BlockingConnection(p); ch = c.channel()\n"
        "ch.queue_declare('check', durable=True)\n"
        "ch.basic_publish('', 'check', b'hello')\n"
        "for method, props, body in ch.consume('check', inactivity_timeout=10):\n"
        "    print(body); ch.basic_ack(method.delivery_tag); break\n",
    )
    assert "b'hello'" in out


def test_minio_serves_s3_with_the_root_credentials(containers: Containers) -> None:
    server = start_pod(
        containers, statefulset(build_minio(managed_platform())), require_image("minio"), SECRETS
    )
    ready(containers, server)
    out = client(
        containers,
        server.name,
        "import io, minio\n"
        "m = minio.Minio('127.0.0.1:9000', 'platform', 'minio-secret', secure=False)\n"
        "m.make_bucket('media'); m.put_object('media', 'a.txt', io.BytesIO(b'abc'), 3)\n"
        "print(m.get_object('media', 'a.txt').read())\n",
    )
    assert "b'abc'" in out
