"""Publishes outbox rows to RabbitMQ with publisher confirms, then marks them sent.

A row is marked sent only after the broker confirmed it, in the transaction that locked it,
so a crash between the two republishes (consumers are idempotent) and never loses an event.
The relay sleeps until a writer's commit notifies it (LISTEN/NOTIFY, wakeup.py), polling
every `idle_seconds` anyway; each batch goes out in commit-time order and is confirmed as a
whole (confirms.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pika
import pika.exceptions
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from messaging_kit.db import Database
from messaging_kit.events.broker import connect, declare_exchange
from messaging_kit.events.confirms import ConfirmedPublisher, Outgoing
from messaging_kit.events.outbox import EventTables
from messaging_kit.events.wakeup import OutboxWakeup

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
        # The fallback poll: how late an event whose notification was missed can go out.
        idle_seconds: float = 1.0,
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
        # One per running thread (an app started twice runs two); stop() interrupts them all.
        self._wakeups: set[OutboxWakeup] = set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for wakeup in list(self._wakeups):
            wakeup.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        wakeup = OutboxWakeup(self.db.engine)
        self._wakeups.add(wakeup)
        try:
            self._run(wakeup)
        finally:
            self._wakeups.discard(wakeup)
            wakeup.close()

    def _run(self, wakeup: OutboxWakeup) -> None:
        backoff = 0.2
        # LISTEN before the first poll, so nothing committed after that poll goes unnoticed.
        wakeup.listen()
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
                declare_exchange(channel, self.exchange)
                publisher = ConfirmedPublisher(connection, channel)
                self.connected.set()
                backoff = 0.2
                while not self._stopping.is_set():
                    if self.publish_batch(publisher) < self.batch_size:
                        self.purge_now_and_then()
                        wakeup.wait(self.idle_seconds)
                    connection.process_data_events(0)  # heartbeats, and the broker's closes
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

    def publish_batch(self, publisher: ConfirmedPublisher) -> int:
        """Publish up to batch_size unsent rows; return how many went out.

        The rows are locked and marked sent in one statement, but that only commits once the
        broker confirmed the whole batch: a nack, a timeout or a lost connection raises, the
        transaction rolls back and the rows stay unsent (published again, at least once).
        """
        outbox = self.outbox
        batch = (
            select(outbox.c.id)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.created_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("batch")
        )
        with self.db.sessions() as session, session.begin():
            rows = session.execute(
                update(outbox)
                .where(outbox.c.id == batch.c.id)
                .values(sent_at=func.now(), attempts=outbox.c.attempts + 1)
                .returning(outbox.c.id, outbox.c.event_type, outbox.c.body, outbox.c.created_at)
            ).all()
            if not rows:
                return 0
            # RETURNING has no order: put the batch back in commit-time order.
            rows.sort(key=lambda row: row.created_at)
            publisher.publish(self.exchange, [outgoing(row) for row in rows])
            log.info("published events", extra={"count": len(rows)})
            return len(rows)


def outgoing(row: Any) -> Outgoing:
    body = row.body
    headers = {"x-request-id": body.get("request_id")} if body.get("request_id") else {}
    return Outgoing(
        routing_key=row.event_type,
        body=json.dumps(body).encode(),
        properties=pika.BasicProperties(
            message_id=str(row.id),
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers,
        ),
    )
