"""Idempotent consumers: effect and event id commit together, ack only after the commit.

A handler error is retried with backoff; if it keeps failing the message is parked in the
queue's dead-letter queue with the reason. A database outage is not the message's fault: the
message goes back to the queue and the consumer waits, rather than dead-lettering everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential

from messaging_kit.db import Database
from messaging_kit.events.broker import dead_letter_queue_name, declare_queue
from messaging_kit.events.broker import declare_exchange as declare_topic_exchange
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import Event, parse_event
from messaging_kit.events.outbox import EventTables
from messaging_kit.logs import request_id_var

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event], None]


class InfrastructureDown(Exception):  # noqa: N818
    """The database is unreachable: requeue the message and back off."""


def is_infrastructure_error(error: BaseException) -> bool:
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


class EventConsumer(BrokerWorker):
    retry_errors = (InfrastructureDown,)

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
    ) -> None:
        super().__init__(amqp_url)
        self.thread_name = f"consumer-{queue}"
        self.db = db
        self.processed = tables.processed
        self.exchange = exchange
        self.queue = queue
        self.handlers = handlers
        self.attempts = attempts
        self.first_backoff_seconds = first_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.prefetch = prefetch

    def retrying(self, error: BaseException) -> str:
        if isinstance(error, InfrastructureDown):
            return "database down, message requeued"
        return "consumer lost the broker, reconnecting"

    def bind(self, channel: BlockingChannel) -> None:
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.prefetch)
        declare_topic_exchange(channel, self.exchange)
        declare_queue(channel, self.exchange, self.queue, list(self.handlers))

    def consume(self, channel: BlockingChannel) -> None:
        for method, properties, body in channel.consume(self.queue, inactivity_timeout=0.5):
            if self._stopping.is_set():
                break
            if method is None:
                continue
            self.deliver(channel, method, properties, body)
        channel.cancel()

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
            channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        except Exception as error:
            log.exception("handler kept failing", extra={"event_id": event.id})
            self.dead_letter(channel, method, properties, body, f"handler failed: {error!r}")
            return
        finally:
            request_id_var.reset(token)
        channel.basic_ack(method.delivery_tag)

    def apply(self, handler: Handler, event: Event) -> bool:
        """Run the handler once per event id; False when the event was already processed."""
        try:
            with self.db.sessions() as session, session.begin():
                first_time = session.execute(
                    insert(self.processed)
                    .values(event_id=event.id, consumer=self.queue)
                    .on_conflict_do_nothing()
                    .returning(self.processed.c.event_id)
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
        channel.basic_ack(method.delivery_tag)
