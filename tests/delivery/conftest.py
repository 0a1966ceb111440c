"""Delivery across services, send to socket: real auth, messages, groups, relay and two
websocket replicas (uvicorn on loopback, in this process), real PostgreSQL, Redis and RabbitMQ;
each test has its own databases, exchange, queues and Redis key prefix. Clients are real
WebSocket clients (websockets). It lives here, not in services/websocket, because it runs the
services together: a service's own tests import no other service."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pika
import psycopg2
import pytest
import redis
from auth_service.core.config import Settings as AuthSettings
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app as create_auth_app
from groups_service.core.config import Settings as GroupsSettings
from groups_service.main import create_app as create_groups_app
from messages_service.core.config import Settings as MessagesSettings
from messages_service.main import create_app as create_messages_app
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import (
    HINT,
    SERVICE_TOKEN,
    LiveServer,
    delete_broker_objects,
    infra_url,
    require_rabbitmq,
    require_redis,
    wait_for,
)
from psycopg2 import sql
from relay_service.core.config import Settings as RelaySettings
from relay_service.main import create_app as create_relay_app
from websocket_service.core.config import Settings
from websocket_service.main import create_app
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


@dataclass
class User:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Client:
    """A device: a WebSocket connection whose frames a thread collects; keeps its cursor."""

    def __init__(self, url: str, user: User, cursor: str | None = None) -> None:
        self.url, self.user = url, user
        self.frames: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.received_at: dict[str, float] = {}
        self.cursor = cursor
        self.close_code: int | None = None
        self.closed = threading.Event()
        self.connection: ClientConnection = connect(
            url, open_timeout=10, max_size=2**22
        ).__enter__()
        auth: dict[str, Any] = {"type": "auth", "token": user.token}
        if cursor:
            auth["cursor"] = cursor
        self.connection.send(json.dumps(auth))
        self.ready = json.loads(self.connection.recv(timeout=10))
        assert self.ready["type"] == "ready", self.ready
        self.cursor = self.ready["cursor"]
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for text in self.connection:
                frame = json.loads(text)
                self.frames.append(frame)
                if frame["type"] == "event":
                    self.events.append(frame["event"])
                    self.received_at[frame["event"]["id"]] = time.monotonic()
                    self.cursor = frame["cursor"]
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.connection.close_code
            self.closed.set()

    def send(self, frame: dict[str, Any]) -> None:
        self.connection.send(json.dumps(frame))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def wait_events(self, count: int, kind: str = "message.created", timeout: float = 20) -> Any:
        wait_for(lambda: len(self.of_type(kind)) >= count, timeout=timeout, interval=0.02)
        return self.of_type(kind)

    def close(self) -> None:
        self.connection.close()
        self.thread.join(5)


@dataclass
class Platform:
    auth_url: str
    messages_url: str
    groups_url: str
    relay_url: str
    ws_urls: list[str]
    settings: list[Settings]
    amqp_url: str
    exchange: str
    redis_url: str
    prefix: str
    extra: dict[str, Any] = field(default_factory=dict)
    clients: list[Client] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def user(self) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            f"{self.auth_url}/api/v1/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": "correct horse"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return User(id=body["user"]["id"], token=body["tokens"]["access_token"])

    def body(self, sender: User, recipient: User) -> dict[str, Any]:
        return message_body(sender, recipient)

    def client(self, user: User, replica: int = 0, cursor: str | None = None) -> Client:
        client = Client(self.ws_urls[replica], user, cursor)
        self.clients.append(client)
        return client

    def send(
        self, sender: User, recipient: User, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.http.post(
            f"{self.messages_url}/api/v1/messages",
            json=body or message_body(sender, recipient),
            headers=sender.headers,
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result


def message_body(sender: User, recipient: User, key: str | None = None) -> dict[str, Any]:
    return {
        "recipient_id": recipient.id,
        "idempotency_key": key or uuid.uuid4().hex,
        "ciphertext": base64.b64encode(os.urandom(32)).decode(),
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "keys": {
            recipient.id: base64.b64encode(b"for-" + recipient.id.encode()).decode(),
            sender.id: base64.b64encode(b"for-" + sender.id.encode()).decode(),
        },
    }


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/ws"


def delete_queues(amqp_url: str, names: list[str]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for name in names:
        channel.queue_delete(name)
        channel.queue_delete(f"{name}.dead")
    connection.close()


def delete_redis_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database, dropped afterwards over a new connection: the fault tests restart
    PostgreSQL, which breaks any connection held across the test (the kit's helper holds one)."""
    admin_url = infra_url("MP_PG_URL")

    def admin(fail: bool = True) -> Any:
        try:
            connection = psycopg2.connect(admin_url, connect_timeout=3)
        except psycopg2.OperationalError as error:
            if fail:
                pytest.fail(f"PostgreSQL at {admin_url} is not answering ({error}); {HINT}")
            return None
        connection.autocommit = True
        return connection

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    connection = admin()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        connection = wait_for(lambda: admin(fail=False), timeout=60)
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        connection.close()


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k1.pem").write_bytes(generate_ed25519_pem())
    return keys


@pytest.fixture
def base(keys_dir: Path) -> Iterator[dict[str, Any]]:
    """Auth and messages up, ready for websocket replicas (in-process or subprocesses)."""
    redis_url, amqp_url = require_redis(), require_rabbitmq()
    run_id = uuid.uuid4().hex[:8]
    exchange = f"test.events.{run_id}"
    prefix = f"test-ws-{run_id}:"
    queues = [f"test.messages.{run_id}", f"test.relay.{run_id}"]
    with (
        fresh_database("auth") as auth_db,
        fresh_database("messages") as messages_db,
        fresh_database("groups") as groups_db,
    ):
        upgrade_head("auth_service", auth_db)
        upgrade_head("messages_service", messages_db)
        upgrade_head("groups_service", groups_db)
        auth_settings = AuthSettings(
            database_url=auth_db,
            redis_url=redis_url,
            amqp_url=amqp_url,
            signing_keys_dir=str(keys_dir),
            events_exchange=exchange,
            redis_key_prefix=f"{prefix}auth",
            internal_token=SERVICE_TOKEN,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        )
        with LiveServer(create_auth_app(auth_settings)) as auth:
            messages_settings = MessagesSettings(
                database_url=messages_db,
                amqp_url=amqp_url,
                jwks_url=f"{auth.url}/.well-known/jwks.json",
                events_exchange=exchange,
                events_queue=queues[0],
                internal_token=SERVICE_TOKEN,
            )
            jwks = f"{auth.url}/.well-known/jwks.json"
            groups_settings = GroupsSettings(
                database_url=groups_db,
                amqp_url=amqp_url,
                jwks_url=jwks,
                events_exchange=exchange,
                internal_token=SERVICE_TOKEN,
            )
            relay_settings = RelaySettings(
                redis_url=redis_url,
                amqp_url=amqp_url,
                jwks_url=jwks,
                events_exchange=exchange,
                events_queue=queues[1],
                redis_key_prefix=prefix,
                internal_token=SERVICE_TOKEN,
                redis_require_aof=False,  # the shared test Redis may run the fast settings
            )
            relay_app = create_relay_app(relay_settings)
            with (
                LiveServer(create_messages_app(messages_settings)) as messages,
                LiveServer(create_groups_app(groups_settings)) as groups,
                LiveServer(relay_app) as relay,
            ):
                wait_for(relay_app.state.consumer.connected.is_set)
                context: dict[str, Any] = {
                    "run_id": run_id,
                    "auth_url": auth.url,
                    "messages_url": messages.url,
                    "groups_url": groups.url,
                    "relay_url": relay.url,
                    "amqp_url": amqp_url,
                    "redis_url": redis_url,
                    "exchange": exchange,
                    "prefix": prefix,
                    "queues": queues,
                    "databases": {"auth": auth_db, "messages": messages_db, "groups": groups_db},
                }
                try:
                    yield context
                finally:
                    delete_queues(amqp_url, queues)
                    delete_broker_objects(amqp_url, exchanges=(exchange,))
                    delete_redis_prefix(redis_url, prefix)


def ws_settings(context: dict[str, Any], replica: str, **overrides: Any) -> Settings:
    queue_prefix = f"test.ws.{context['run_id']}"
    context["queues"].append(f"{queue_prefix}.{replica}")
    values: dict[str, Any] = {
        "redis_url": context["redis_url"],
        "amqp_url": context["amqp_url"],
        "jwks_url": f"{context['auth_url']}/.well-known/jwks.json",
        "events_exchange": context["exchange"],
        "redis_key_prefix": context["prefix"],
        "replica_id": replica,
        "events_queue_prefix": queue_prefix,
        "queue_expires_seconds": 600,
        "heartbeat_seconds": 5,
        "presence_ttl_seconds": 3,
        "internal_token": SERVICE_TOKEN,
        "redis_require_aof": False,  # the shared test Redis may run the fast settings
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def platform(base: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Platform]:
    overrides = getattr(request, "param", {})
    settings = [ws_settings(base, f"r{i}", **overrides) for i in range(2)]
    apps = [create_app(s) for s in settings]
    with LiveServer(apps[0]) as one, LiveServer(apps[1]) as two:
        for app in apps:
            wait_for(app.state.ingest.connected.is_set)
        platform = Platform(
            auth_url=base["auth_url"],
            messages_url=base["messages_url"],
            groups_url=base["groups_url"],
            relay_url=base["relay_url"],
            ws_urls=[ws_url(one.url), ws_url(two.url)],
            settings=settings,
            amqp_url=base["amqp_url"],
            exchange=base["exchange"],
            redis_url=base["redis_url"],
            prefix=base["prefix"],
            extra={"base": base, "apps": apps},
        )
        try:
            yield platform
        finally:
            for client in platform.clients:
                client.close()
