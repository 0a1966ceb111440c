"""Publishes outbox rows to RabbitMQ with publisher confirms, then marks them sent.

A row is marked sent only after the broker confirmed it, in the transaction that locked it,
so a crash between the two republishes (consumers are idempotent) and never loses an event.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import timedelta

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from messaging_kit.db import Database
from messaging_kit.events.broker import connect, declare_exchange
from messaging_kit.events.outbox import EventTables

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 600.0


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        tables: EventTables,
        amqp_url: str,
        exchange: str,
        *,
        batch_size: int = 100,
        idle_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.db = db
        self.outbox = tables.outbox
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.retention = retention
        self._purged_at = float("-inf")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                connection = connect(self.amqp_url)
            except pika.exceptions.AMQPError as error:
                log.warning("broker unreachable, relay retries", extra={"error": repr(error)})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            try:
                channel = connection.channel()
                channel.confirm_delivery()
                declare_exchange(channel, self.exchange)
                self.connected.set()
                backoff = 0.2
                while not self._stopping.is_set():
                    if self.publish_batch(channel) < self.batch_size:
                        self.purge_now_and_then()
                        connection.sleep(self.idle_seconds)  # also services heartbeats
            except (pika.exceptions.AMQPError, SQLAlchemyError) as error:
                log.warning("relay interrupted, reconnecting", extra={"error": repr(error)})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
            finally:
                self.connected.clear()
                if connection.is_open:
                    with contextlib.suppress(pika.exceptions.AMQPError):
                        connection.close()

    def purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_INTERVAL_SECONDS:
            self._purged_at = time.monotonic()
            self.purge_sent()

    def purge_sent(self) -> int:
        """Delete rows sent longer ago than the retention (kept a while for tracing)."""
        with self.db.sessions() as session, session.begin():
            result = session.execute(
                delete(self.outbox).where(
                    self.outbox.c.sent_at.is_not(None),
                    self.outbox.c.sent_at < func.now() - self.retention,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def publish_batch(self, channel: BlockingChannel) -> int:
        """Publish up to batch_size unsent rows; return how many went out."""
        with self.db.sessions() as session, session.begin():
            rows = session.execute(
                select(self.outbox.c.id, self.outbox.c.event_type, self.outbox.c.body)
                .where(self.outbox.c.sent_at.is_(None))
                .order_by(self.outbox.c.created_at)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                body = row.body
                headers = {"x-request-id": body.get("request_id")} if body.get("request_id") else {}
                # Raises on a nack or a lost connection; the transaction then rolls back.
                channel.basic_publish(
                    exchange=self.exchange,
                    routing_key=row.event_type,
                    body=json.dumps(body).encode(),
                    properties=pika.BasicProperties(
                        message_id=str(row.id),
                        content_type="application/json",
                        delivery_mode=pika.DeliveryMode.Persistent,
                        headers=headers,
                    ),
                )
            if rows:
                session.execute(
                    update(self.outbox)
                    .where(self.outbox.c.id.in_([row.id for row in rows]))
                    .values(sent_at=func.now(), attempts=self.outbox.c.attempts + 1)
                )
                log.info("published events", extra={"count": len(rows)})
            return len(rows)
