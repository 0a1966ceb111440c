"""Test helpers for every service's suites: real servers only, clear failures when one is down."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import uvicorn

DEFAULTS = {
    "MP_PG_URL": "postgresql://postgres:postgres@127.0.0.1:15432/postgres",
    "MP_REDIS_URL": "redis://127.0.0.1:16379/0",
    "MP_AMQP_URL": "amqp://platform:platform@127.0.0.1:15673/%2F",
}
HINT = "run `make infra-up`"
# Other suites restart the shared servers in their fault tests: ride through a restart that
# short, but once a server stayed down that long, fail every later test at once.
RESTART_GRACE_SECONDS = float(os.environ.get("MP_INFRA_GRACE_SECONDS", "45"))
_gone: set[str] = set()


def _connect_patiently(name: str, url: str, connect: Any, errors: Any) -> Any:
    """connect() until it works, for at most the grace period; pytest.fail naming the server."""
    deadline = time.monotonic() + (0 if name in _gone else RESTART_GRACE_SECONDS)
    while True:
        try:
            result = connect()
            _gone.discard(name)
            return result
        except errors as error:
            if time.monotonic() >= deadline:
                _gone.add(name)
                pytest.fail(f"{name} at {url} is not answering ({error!r}); {HINT}")
            time.sleep(1.0)


def infra_url(name: str) -> str:
    return os.environ.get(name, DEFAULTS[name])


def _url_with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextmanager
def fresh_database(prefix: str = "test") -> Iterator[str]:
    """A new, empty PostgreSQL database with a unique name; dropped afterwards."""
    import psycopg2
    from psycopg2 import sql

    admin_url = infra_url("MP_PG_URL")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    label = f"fresh-database-{name}"  # application_name: find this admin session in pg_stat
    admin = _connect_patiently(
        "PostgreSQL",
        admin_url,
        lambda: psycopg2.connect(admin_url, connect_timeout=3, application_name=label),
        psycopg2.OperationalError,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _url_with_database(admin_url, name)
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        # Fault tests restart the shared PostgreSQL: reconnect for the drop if we must.
        deadline = time.monotonic() + 30
        while True:
            try:
                if admin.closed:
                    admin = psycopg2.connect(admin_url, connect_timeout=3, application_name=label)
                    admin.autocommit = True
                with admin.cursor() as cursor:
                    cursor.execute(drop)
                break
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                admin.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        admin.close()


def require_redis() -> str:
    import redis

    url = infra_url("MP_REDIS_URL")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    _connect_patiently("Redis", url, client.ping, redis.RedisError)
    client.close()
    return url


def require_rabbitmq() -> str:
    import pika
    import pika.exceptions

    url = infra_url("MP_AMQP_URL")
    connection = _connect_patiently(
        "RabbitMQ",
        url,
        lambda: pika.BlockingConnection(pika.URLParameters(url)),
        pika.exceptions.AMQPError,
    )
    connection.close()
    return url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """A real uvicorn server on a free loopback port, in a thread of the test process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        # A port chosen beforehand lets two servers name each other (users <-> media).
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until predicate() is truthy; return its value or fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


# The service credential (INTERNAL_TOKEN) test platforms share: give it to every service's
# settings so the revocation feed (and other internal callers) are let in.
SERVICE_TOKEN = "test-service-credential-" + uuid.uuid4().hex


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The monolith's users table, as its migration plan describes it.
LEGACY_USERS_DDL = """
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email varchar(255) UNIQUE NOT NULL,
    username varchar(100) UNIQUE NOT NULL,
    password_hash varchar(255) NOT NULL,
    public_keys jsonb NOT NULL,
    full_name varchar(255),
    avatar_url varchar(500),
    bio varchar(500),
    is_active boolean DEFAULT true,
    is_verified boolean DEFAULT false,
    last_seen timestamp,
    role varchar(20) DEFAULT 'user',
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP
)
"""


def fill_legacy_users(url: str, count: int, password_hash: str) -> None:
    """Generate `count` legacy users legacy0..legacyN sharing one (bcrypt) password hash."""
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(LEGACY_USERS_DDL)
        cursor.execute(
            "INSERT INTO users (email, username, password_hash, public_keys, full_name, bio)"
            " SELECT 'Legacy' || n || '@Example.com', 'legacy' || n, %s,"
            " jsonb_build_array('pk-' || n),"
            " CASE WHEN n %% 10 = 0 THEN NULL ELSE 'Legacy User ' || n END, 'bio ' || n"
            " FROM generate_series(0, %s - 1) AS n",
            (password_hash, count),
        )
    connection.close()


def delete_broker_objects(
    amqp_url: str, *, exchanges: tuple[str, ...] = (), queues: tuple[str, ...] = ()
) -> None:
    """Remove a test's durable exchanges and queues so the shared broker does not fill up."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for queue in queues:
            channel.queue_delete(queue)
        for exchange in exchanges:
            channel.exchange_delete(exchange)
    finally:
        connection.close()
