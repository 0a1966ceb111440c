"""Idempotent consumers: effect and event id commit together, ack only after the commit.

An event its handler would change nothing for (a `skips` check says so, before any
transaction) is acked without a transaction or a processed row: there is no effect to apply
twice, and a redelivery is checked again. Acks go out in batches (multiple=True), at most half
the prefetch window or ACK_DELAY_SECONDS late: a crash before one only redelivers events whose
effects (and processed rows) are committed.

A handler error is retried with backoff; if it keeps failing the message is parked in the
queue's dead-letter queue with the reason. A database outage is not the message's fault: the
message goes back to the queue and the consumer waits, rather than dead-lettering everything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential

from messaging_kit.db import Database
from messaging_kit.events.broker import dead_letter_queue_name
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import Event, parse_event
from messaging_kit.events.outbox import EventTables
from messaging_kit.logs import request_id_var

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event], None]
# True when the event's handler would change nothing (run outside any transaction: only for
# what holds whatever commits meanwhile, or what the handler would decide the same way).
Skip = Callable[[Event], bool]
# An ack is a frame and a socket flush (6-8 % of a consumer's CPU, one per event): acks wait
# this long at most, or for half the prefetch window, and go out as one.
ACK_DELAY_SECONDS = 0.5


class InfrastructureDown(Exception):  # noqa: N818
    """The database is unreachable: requeue the message and back off."""


def is_infrastructure_error(error: BaseException) -> bool:
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


class EventConsumer(BrokerWorker):
    retry_errors = (InfrastructureDown,)
    confirms = True  # dead-lettering publishes
    idle_seconds = ACK_DELAY_SECONDS  # an idle channel flushes its acks

    def __init__(
        self,
        db: Database,
        tables: EventTables,
        amqp_url: str,
        exchange: str,
        queue: str,
        handlers: dict[str, Handler],
        *,
        attempts: int = 4,
        first_backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        prefetch: int = 20,
        skips: Mapping[str, Skip] | None = None,
    ) -> None:
        super().__init__(amqp_url)
        self.thread_name = f"consumer-{queue}"
        self.db = db
        self.processed = tables.processed
        self.exchange = exchange
        self.queue = queue
        self.handlers = handlers
        self.routing_keys = list(handlers)
        self.attempts = attempts
        self.first_backoff_seconds = first_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.prefetch = prefetch
        self.skips = dict(skips or {})
        # Built once: SQLAlchemy keys a statement object for its compiled cache once, but a
        # statement built per event is keyed per event.
        self.record = (
            insert(self.processed)
            .values(
                event_id=bindparam("event_id", type_=self.processed.c.event_id.type),
                consumer=bindparam("consumer", type_=self.processed.c.consumer.type),
            )
            .on_conflict_do_nothing()
            .returning(self.processed.c.event_id)
        )
        self.ack_batch = max(1, prefetch // 2)
        self.skipped = 0  # events acked without a transaction (tests, metrics)
        self._ack_tag: int | None = None  # the last settled delivery, not acked yet
        self._ack_count = 0
        self._ack_since = 0.0

    def retrying(self, error: BaseException) -> str:
        if isinstance(error, InfrastructureDown):
            return "database down, message requeued"
        return "consumer lost the broker, reconnecting"

    def consuming(self, channel: BlockingChannel) -> None:
        self._ack_tag = None  # tags are per channel: a new one starts afresh
        self._ack_count = 0

    def idle(self, channel: BlockingChannel) -> None:
        self.flush_acks(channel)

    def consumed(self, channel: BlockingChannel) -> None:
        self.flush_acks(channel)
        channel.cancel()

    def settle(self, channel: BlockingChannel, tag: int) -> None:
        """This delivery is done: ack it with the next batch."""
        if self._ack_tag is None:
            self._ack_since = time.monotonic()
        self._ack_tag = tag
        self._ack_count += 1
        if (
            self._ack_count >= self.ack_batch
            or time.monotonic() - self._ack_since >= ACK_DELAY_SECONDS
        ):
            self.flush_acks(channel)

    def flush_acks(self, channel: BlockingChannel, up_to: int | None = None) -> None:
        """Ack every settled delivery (and `up_to`, a later one) in one frame."""
        tag = up_to if up_to is not None else self._ack_tag
        if tag is not None:
            channel.basic_ack(tag, multiple=True)
        self._ack_tag = None
        self._ack_count = 0

    def skip(self, routing_key: str, event: Event) -> bool:
        check = self.skips.get(routing_key)
        if check is None:
            return False
        try:
            return check(event)
        except Exception as error:  # the check is an optimisation: the handler decides
            log.warning("skip check failed", extra={"event_id": event.id, "error": repr(error)})
            return False

    def deliver(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        try:
            event = parse_event(body)
        except ValueError as error:
            self.dead_letter(channel, method, properties, body, f"poison message: {error}")
            return
        handler = self.handlers.get(method.routing_key or "")
        if handler is None:
            self.dead_letter(channel, method, properties, body, "no handler for routing key")
            return
        token = request_id_var.set(event.request_id)
        try:
            if self.skip(method.routing_key or "", event):
                self.skipped += 1
                self.settle(channel, method.delivery_tag)
                return
            for attempt in Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(
                    multiplier=self.first_backoff_seconds, max=self.max_backoff_seconds
                ),
                retry=retry_if_not_exception_type(InfrastructureDown),
                reraise=True,
            ):
                with attempt:
                    self.apply(handler, event)
        except InfrastructureDown:
            self.flush_acks(channel)
            channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        except Exception as error:
            log.exception("handler kept failing", extra={"event_id": event.id})
            self.dead_letter(channel, method, properties, body, f"handler failed: {error!r}")
            return
        finally:
            request_id_var.reset(token)
        self.settle(channel, method.delivery_tag)

    def apply(self, handler: Handler, event: Event) -> bool:
        """Run the handler once per event id; False when the event was already processed."""
        try:
            with self.db.sessions() as session, session.begin():
                first_time = session.execute(
                    self.record, {"event_id": event.id, "consumer": self.queue}
                ).first()
                if first_time is None:
                    log.info("duplicate event skipped", extra={"event_id": event.id})
                    return False
                handler(session, event)
                return True
        except Exception as error:
            if is_infrastructure_error(error):
                raise InfrastructureDown(str(error)) from error
            raise

    def dead_letter(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
        reason: str,
    ) -> None:
        log.error("message dead-lettered", extra={"reason": reason, "queue": self.queue})
        headers = dict(properties.headers or {})
        headers.update(
            {"x-dead-reason": reason[:1000], "x-original-routing-key": method.routing_key}
        )
        channel.basic_publish(
            exchange="",
            routing_key=dead_letter_queue_name(self.queue),
            body=body,
            properties=pika.BasicProperties(
                message_id=properties.message_id,
                content_type=properties.content_type,
                delivery_mode=pika.DeliveryMode.Persistent,
                headers=headers,
            ),
        )
        self.flush_acks(channel, up_to=method.delivery_tag)
