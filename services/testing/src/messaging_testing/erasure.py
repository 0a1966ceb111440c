"""Test helpers for erasure suites: publish auth's `user.deleted` on a real exchange, collect the
`user.erased` confirmations services publish, look for what is left of a user in PostgreSQL
and Redis, run a database service against the real broker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from messaging_kit.erasure import USER_DELETED, USER_ERASED

from messaging_testing.tokens import TokenIssuer, jwks_server


def event_body(
    event_type: str, source: str, data: dict[str, Any], event_id: str | None = None
) -> dict[str, Any]:
    """An event envelope as another service's relay publishes it."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "source": source,
        "occurred_at": datetime.now(UTC).isoformat(),
        "request_id": None,
        "data": data,
    }


def user_deleted_body(
    user_id: str, erasure_id: str | None = None, event_id: str | None = None
) -> dict[str, Any]:
    """auth's event; a retry of the same erasure is the same erasure_id with a new event id."""
    data = {
        "user_id": user_id,
        "erasure_id": erasure_id or str(uuid.uuid4()),
        "requested_at": datetime.now(UTC).isoformat(),
    }
    return event_body(USER_DELETED, "auth", data, event_id)


def publish_event(amqp_url: str, exchange: str, body: dict[str, Any]) -> None:
    """Publish as another service's relay would: persistent, confirmed by the broker."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
        channel.basic_publish(
            exchange,
            str(body["type"]),
            json.dumps(body).encode(),
            properties=pika.BasicProperties(
                message_id=str(body["id"]), delivery_mode=pika.DeliveryMode.Persistent
            ),
        )
    finally:
        connection.close()


class Confirmations:
    """A queue bound to `user.erased` on the test's exchange, read with basic_get."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        import pika

        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
        self.queue = f"test.erased.{uuid.uuid4().hex[:12]}"
        self.channel.queue_declare(self.queue, auto_delete=False)
        self.channel.queue_bind(self.queue, exchange, routing_key=USER_ERASED)
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.seen
            self.seen.append(json.loads(body))

    def wait(
        self, erasure_id: str, service: str, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Wait until `count` confirmations of this erasure by this service have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                e["data"]
                for e in self.drain()
                if e["data"]["erasure_id"] == erasure_id and e["data"]["service"] == service
            ]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{count} user.erased by {service} for {erasure_id} not seen in {timeout} s"
                )
            self.connection.sleep(0.1)

    def close(self) -> None:
        self.channel.queue_delete(self.queue)
        self.connection.close()


@contextmanager
def confirmations(amqp_url: str, exchange: str) -> Iterator[Confirmations]:
    watch = Confirmations(amqp_url, exchange)
    try:
        yield watch
    finally:
        watch.close()


def leftovers(
    database_url: str,
    user_id: str,
    *,
    allowed: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> dict[str, int]:
    """Every (table.column) of the database whose values still mention the user id, with the
    number of rows: uuid, text and JSON columns of every table, read directly in PostgreSQL.
    The event tables are left out (the outbox carries the user.erased confirmation itself), and
    so is the tombstone (messaging_kit.tombstones), the erasure's own record."""
    import psycopg2
    from messaging_kit.tombstones import TOMBSTONE_COLUMNS
    from psycopg2 import sql

    found: dict[str, int] = {}
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('uuid', 'text', 'character varying', 'jsonb', 'json')"
            " AND table_name NOT IN ('outbox', 'processed_events', 'alembic_version')"
            " ORDER BY table_name, column_name"
        )
        for table, column in cursor.fetchall():
            if (table, column) in allowed or (table, column) in TOMBSTONE_COLUMNS:
                continue
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {}::text LIKE %s").format(
                    sql.Identifier(table), sql.Identifier(column)
                ),
                (f"%{user_id}%",),
            )
            count = cursor.fetchone()[0]
            if count:
                found[f"{table}.{column}"] = count
    connection.close()
    return found


class ErasureRig:
    """A private exchange to publish `user.deleted` on and watch `user.erased` come back."""

    def __init__(self, amqp_url: str, exchange: str, watch: Confirmations) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.watch = watch

    def delete_user(self, user_id: str, erasure_id: str | None = None) -> str:
        """Publish auth's `user.deleted` (a new event id each time); returns the erasure id."""
        body = user_deleted_body(user_id, erasure_id)
        publish_event(self.amqp_url, self.exchange, body)
        return str(body["data"]["erasure_id"])

    def publish(self, event_type: str, source: str, data: dict[str, Any]) -> None:
        """Another service's event on the rig's exchange (a late or redelivered one)."""
        publish_event(self.amqp_url, self.exchange, event_body(event_type, source, data))

    def confirmed(
        self, erasure_id: str, service: str, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        return self.watch.wait(erasure_id, service, count, timeout)


@contextmanager
def erasure_rig(amqp_url: str) -> Iterator[ErasureRig]:
    from messaging_testing.infra import delete_broker_objects

    exchange = f"test.events.{uuid.uuid4().hex[:12]}"
    try:
        with confirmations(amqp_url, exchange) as watch:
            yield ErasureRig(amqp_url, exchange, watch)
    finally:
        delete_broker_objects(amqp_url, exchanges=(exchange,))


def redis_leftovers(client: Any, prefix: str, user_id: str) -> list[str]:
    """Keys under prefix whose name or content mentions the user id, read directly in Redis."""
    found = []
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "hash":
            content: list[Any] = [*client.hkeys(raw), *client.hvals(raw)]
        elif kind == "zset":
            content = client.zrange(raw, 0, -1)
        elif kind == "set":
            content = list(client.smembers(raw))
        elif kind == "list":
            content = client.lrange(raw, 0, -1)
        elif kind == "stream":
            content = [value for _, fields in client.xrange(raw) for value in fields.values()]
        else:
            content = [client.get(raw) or b""]
        if user_id in key or any(user_id.encode() in bytes(value) for value in content):
            found.append(key)
    return sorted(found)


@dataclass
class DatabaseService:
    """A database service's app (TestClient: lifespan, consumer and relay running) on a fresh
    database, consuming the rig's exchange; tokens from `issuer` are accepted."""

    client: Any
    database_url: str
    settings: Any
    rig: ErasureRig
    issuer: TokenIssuer

    def sessions(self) -> Any:
        return self.client.app.state.db.sessions()


@contextmanager
def database_service(
    package: str, settings_class: Any, create_app: Any, **settings: Any
) -> Iterator[DatabaseService]:
    """Run `package`'s app as its tests of erasure need it (users, messages, groups)."""
    from fastapi.testclient import TestClient
    from messaging_kit.migrations import upgrade_head

    from messaging_testing.infra import (
        delete_broker_objects,
        fresh_database,
        require_rabbitmq,
        wait_for,
    )

    amqp_url = require_rabbitmq()
    issuer = TokenIssuer()
    queue = f"test.{package}.{uuid.uuid4().hex[:8]}"
    with (
        jwks_server(issuer) as jwks_url,
        fresh_database(package.removesuffix("_service")) as database_url,
        erasure_rig(amqp_url) as rig,
    ):
        upgrade_head(package, database_url)
        values = settings_class(
            database_url=database_url,
            amqp_url=amqp_url,
            jwks_url=jwks_url,
            events_exchange=rig.exchange,
            events_queue=queue,
            **settings,
        )
        try:
            app = create_app(values)
            with TestClient(app) as client:
                wait_for(app.state.consumer.connected.is_set)
                yield DatabaseService(client, database_url, values, rig, issuer)
        finally:
            delete_broker_objects(amqp_url, queues=(queue, f"{queue}.dead"))
