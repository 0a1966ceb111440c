"""Outbox relay and idempotent consumer against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pika
import pytest
from messaging_kit.db import Database
from messaging_kit.events import Event, add_event, event_tables
from messaging_kit.events.broker import dead_letter_queue_name, declare_queue
from messaging_kit.events.consumer import EventConsumer
from messaging_kit.events.relay import OutboxRelay
from messaging_kit.logs import request_id_var
from messaging_testing.infra import fresh_database, require_rabbitmq, wait_for
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

pytestmark = pytest.mark.infra

METADATA = MetaData()
TABLES = event_tables(METADATA)
EFFECTS = Table(
    "effects", METADATA, Column("id", Integer, primary_key=True), Column("note", String)
)


@pytest.fixture
def db() -> Iterator[Database]:
    with fresh_database("kit") as url:
        database = Database(url)
        METADATA.create_all(database.engine)
        yield database
        database.close()


@pytest.fixture
def amqp() -> Iterator[tuple[str, str, pika.adapters.blocking_connection.BlockingChannel]]:
    url = require_rabbitmq()
    exchange = f"test.kit.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(exchange, "topic", durable=True)
    yield url, exchange, channel
    channel.exchange_delete(exchange)
    connection.close()


def test_relay_publishes_committed_events_only(db: Database, amqp: Any) -> None:
    url, exchange, channel = amqp
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, "thing.#")
    token = request_id_var.set("req-42")
    try:
        with db.sessions() as session:
            add_event(session, TABLES, "thing.lost", "kit", {"n": 0})
            session.rollback()  # the change failed: its event must never be seen
        with db.sessions() as session:
            kept = add_event(session, TABLES, "thing.made", "kit", {"n": 1})
            session.commit()
    finally:
        request_id_var.reset(token)
    relay = OutboxRelay(db, TABLES, url, exchange, idle_seconds=0.05)
    relay.start()
    try:
        method, properties, body = next(channel.consume(queue, inactivity_timeout=15))
    finally:
        relay.stop()
    assert method is not None
    assert method.routing_key == "thing.made"
    assert properties.message_id == kept.id
    assert properties.headers == {"x-request-id": "req-42"}
    assert json.loads(body)["data"] == {"n": 1}
    with db.sessions() as session:
        unsent = session.scalar(
            select(func.count()).select_from(TABLES.outbox).where(TABLES.outbox.c.sent_at.is_(None))
        )
    assert unsent == 0


def test_a_commit_wakes_the_relay_long_before_its_fallback_poll(db: Database, amqp: Any) -> None:
    url, exchange, channel = amqp
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, "thing.#")
    relay = OutboxRelay(db, TABLES, url, exchange, idle_seconds=60)
    relay.start()
    try:
        wait_for(relay.connected.is_set)
        time.sleep(0.3)  # the relay has polled once and sleeps on LISTEN now
        with db.sessions() as session:
            made = add_event(session, TABLES, "thing.made", "kit", {"n": 1})
            session.commit()
        committed = time.monotonic()
        method, properties, _ = next(channel.consume(queue, inactivity_timeout=10))
        waited = time.monotonic() - committed
    finally:
        relay.stop()
    channel.cancel()
    assert method is not None
    assert properties.message_id == made.id
    assert waited < 5  # the fallback poll alone would take 60 s


def test_a_backlog_goes_out_in_confirmed_batches_in_commit_order(db: Database, amqp: Any) -> None:
    url, exchange, channel = amqp
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, "thing.#")
    count = 250
    for start in range(0, count, 50):  # several transactions, several events each
        with db.sessions() as session:
            for n in range(start, start + 50):
                add_event(session, TABLES, "thing.made", "kit", {"n": n})
            session.commit()
    relay = OutboxRelay(db, TABLES, url, exchange, batch_size=100, idle_seconds=60)
    relay.start()
    seen = []
    try:
        for method, _, body in channel.consume(queue, inactivity_timeout=15):
            if method is None:
                break
            seen.append(json.loads(body)["data"]["n"])
            channel.basic_ack(method.delivery_tag)
            if len(seen) == count:
                break
    finally:
        relay.stop()
    channel.cancel()
    assert seen == list(range(count))
    with db.sessions() as session:
        rows = session.execute(select(TABLES.outbox.c.sent_at, TABLES.outbox.c.attempts)).all()
    assert len(rows) == count
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


def test_relay_purges_old_sent_rows(db: Database, amqp: Any) -> None:
    url, exchange, _ = amqp
    with db.sessions() as session:
        old = add_event(session, TABLES, "thing.old", "kit", {})
        recent = add_event(session, TABLES, "thing.recent", "kit", {})
        unsent = add_event(session, TABLES, "thing.unsent", "kit", {})
        outbox = TABLES.outbox
        session.execute(
            outbox.update()
            .where(outbox.c.id == old.id)
            .values(sent_at=func.now() - timedelta(days=8))
        )
        session.execute(outbox.update().where(outbox.c.id == recent.id).values(sent_at=func.now()))
        session.commit()
    assert OutboxRelay(db, TABLES, url, exchange).purge_sent() == 1
    with db.sessions() as session:
        left = set(session.scalars(select(TABLES.outbox.c.id)))
    assert left == {recent.id, unsent.id}


def consume(db: Database, amqp: Any, handler: Any, queue: str) -> EventConsumer:
    url, exchange, _ = amqp
    consumer = EventConsumer(
        db, TABLES, url, exchange, queue, {"thing.made": handler}, first_backoff_seconds=0.01
    )
    consumer.start()
    wait_for(consumer.connected.is_set)
    return consumer


def send(amqp: Any, event_id: str) -> None:
    _, exchange, channel = amqp
    body = {"id": event_id, "type": "thing.made", "source": "t", "data": {"n": 1}}
    channel.basic_publish(exchange, "thing.made", json.dumps(body).encode())


def test_a_flaky_handler_is_retried_and_applied_once(db: Database, amqp: Any) -> None:
    calls = []

    def flaky(session: Session, event: Event) -> None:
        calls.append(event.id)
        session.execute(EFFECTS.insert().values(note=event.id))
        if len(calls) < 3:
            raise RuntimeError("transient")

    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    consumer = consume(db, amqp, flaky, queue)
    try:
        event_id = str(uuid.uuid4())
        send(amqp, event_id)
        send(amqp, event_id)  # redelivery of the same event

        def effects() -> int:
            with db.sessions() as session:
                return session.scalar(select(func.count()).select_from(EFFECTS)) or 0

        wait_for(lambda: effects() == 1)
        wait_for(lambda: len(calls) == 3)
    finally:
        consumer.stop()
    # Failed attempts rolled back with their effect; exactly one committed.
    assert effects() == 1
    _, _, channel = amqp
    channel.queue_delete(queue)
    channel.queue_delete(dead_letter_queue_name(queue))


def test_a_handler_that_keeps_failing_parks_the_message(db: Database, amqp: Any) -> None:
    def broken(session: Session, event: Event) -> None:
        raise ValueError("cannot handle this")

    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    consumer = consume(db, amqp, broken, queue)
    _, _, channel = amqp
    try:
        send(amqp, str(uuid.uuid4()))

        def parked() -> Any:
            method, properties, _ = channel.basic_get(dead_letter_queue_name(queue), auto_ack=True)
            return properties if method else None

        properties = wait_for(parked)
    finally:
        consumer.stop()
    assert "cannot handle this" in properties.headers["x-dead-reason"]
    assert properties.headers["x-original-routing-key"] == "thing.made"
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TABLES.processed)) == 0
    channel.queue_delete(queue)
    channel.queue_delete(dead_letter_queue_name(queue))


def test_a_database_outage_requeues_instead_of_dead_lettering(amqp: Any) -> None:
    """Nothing answers on the consumer's database URL: the message must wait, not be parked."""
    down = Database("postgresql://nobody:x@127.0.0.1:1/none", pool_size=1)
    calls: list[str] = []

    def handler(session: Session, event: Event) -> None:
        calls.append(event.id)

    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    consumer = consume(down, amqp, handler, queue)
    _, _, channel = amqp
    event_id = str(uuid.uuid4())
    try:
        send(amqp, event_id)
        time.sleep(2.0)  # several delivery attempts and backoffs
    finally:
        consumer.stop()
        down.close()
    assert calls == []
    parked, _, _ = channel.basic_get(dead_letter_queue_name(queue), auto_ack=True)
    assert parked is None
    method, _, body = channel.basic_get(queue, auto_ack=True)
    assert method is not None, "the message was lost"
    assert json.loads(body)["id"] == event_id
    channel.queue_delete(queue)
    channel.queue_delete(dead_letter_queue_name(queue))


def publish(amqp: Any, key: str, event_id: str, data: dict[str, Any] | None = None) -> None:
    _, exchange, channel = amqp
    body = {"id": event_id, "type": key, "source": "t", "data": data or {}}
    channel.basic_publish(exchange, key, json.dumps(body).encode())


def processed_rows(db: Database) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(TABLES.processed)) or 0


def effects(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(EFFECTS.c.note).order_by(EFFECTS.c.id)))


def waiting(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def drop(channel: Any, queue: str) -> None:
    channel.queue_delete(queue)
    channel.queue_delete(dead_letter_queue_name(queue))


def test_a_queue_gets_only_the_routing_keys_its_handlers_take(db: Database, amqp: Any) -> None:
    """An event no handler takes never reaches the queue: neither delivered nor dead-lettered
    (it would be, before the handled one published after it)."""
    seen: list[str] = []
    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    consumer = consume(db, amqp, lambda session, event: seen.append(event.id), queue)
    _, _, channel = amqp
    handled = str(uuid.uuid4())
    try:
        publish(amqp, "thing.other", str(uuid.uuid4()))
        publish(amqp, "thing.made.again", str(uuid.uuid4()))
        publish(amqp, "thing.made", handled)
        wait_for(lambda: seen == [handled])
    finally:
        consumer.stop()
    assert (waiting(channel, queue), waiting(channel, dead_letter_queue_name(queue))) == (0, 0)
    assert processed_rows(db) == 1
    drop(channel, queue)


def test_a_skipped_event_is_acked_without_a_row_and_judged_again_when_redelivered(
    db: Database, amqp: Any
) -> None:
    url, exchange, channel = amqp
    skipping = threading.Event()
    skipping.set()

    def handler(session: Session, event: Event) -> None:
        session.execute(EFFECTS.insert().values(note=event.id))

    def skip(event: Event) -> bool:
        if event.data.get("unknown"):
            raise RuntimeError("the store behind the check is down")
        return skipping.is_set()

    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(
        db, TABLES, url, exchange, queue, {"thing.made": handler}, skips={"thing.made": skip}
    )
    consumer.start()
    wait_for(consumer.connected.is_set)
    event_id, other, unknown = (str(uuid.uuid4()) for _ in range(3))
    try:
        publish(amqp, "thing.made", event_id)
        wait_for(lambda: consumer.skipped == 1)
        # No transaction: no effect, no processed row that would hide a later delivery.
        assert (effects(db), processed_rows(db)) == ([], 0)
        skipping.clear()
        publish(amqp, "thing.made", event_id)  # redelivered: the check says no now
        wait_for(lambda: effects(db) == [event_id])
        publish(amqp, "thing.made", event_id)  # and again: de-duplicated as ever
        publish(amqp, "thing.made", other)
        wait_for(lambda: len(effects(db)) == 2)
        skipping.set()
        publish(amqp, "thing.made", unknown, {"unknown": True})  # a failing check: handled
        wait_for(lambda: len(effects(db)) == 3)
    finally:
        consumer.stop()
    assert effects(db) == [event_id, other, unknown]
    assert (processed_rows(db), consumer.skipped) == (3, 1)
    # Every delivery, skipped or handled, was acked (stop sends the acks still batched).
    assert (waiting(channel, queue), waiting(channel, dead_letter_queue_name(queue))) == (0, 0)
    drop(channel, queue)


def test_a_backlog_is_acked_in_batches_and_nothing_comes_back(db: Database, amqp: Any) -> None:
    url, exchange, channel = amqp
    queue = f"test.kit.{uuid.uuid4().hex[:8]}"
    declare_queue(channel, exchange, queue, ["thing.made"])
    sent = [str(uuid.uuid4()) for _ in range(45)]
    for event_id in sent:
        publish(amqp, "thing.made", event_id)
    calls: list[str] = []

    class Counted(EventConsumer):
        acks = 0

        def flush_acks(self, channel: Any, up_to: int | None = None) -> None:
            self.acks += up_to is not None or self._ack_tag is not None
            super().flush_acks(channel, up_to)

    def handler(session: Session, event: Event) -> None:
        calls.append(event.id)

    acks = []
    for _ in range(2):  # the second consumer of the queue gets nothing: all were acked
        consumer = Counted(db, TABLES, url, exchange, queue, {"thing.made": handler})
        consumer.start()
        wait_for(consumer.connected.is_set)
        wait_for(lambda: len(calls) >= len(sent))
        time.sleep(0.3)
        consumer.stop()
        acks.append(consumer.acks)
        assert calls == sent
        assert waiting(channel, queue) == 0
    assert 0 < acks[0] < len(sent)  # prefetch 20: batches of up to 10
    assert acks[1] == 0
    drop(channel, queue)
