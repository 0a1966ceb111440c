"""A thread that holds one broker connection: connect, bind, consume; on a broker error (or
one of the store errors a subclass names) close, back off and start again. Every consumer in
the kit and the services has this shape: most say only what one event does (`handle`) and
what they bind (the default: a durable queue on the topic exchange, `routing_keys`)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from messaging_kit.events.broker import connect, declare_exchange, declare_queue
from messaging_kit.events.envelope import Event, parse_event
from messaging_kit.workers import BackgroundWorker

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.2


class BrokerWorker(BackgroundWorker):
    # Errors after which the connection is dropped and the loop starts again, besides the
    # broker's own (e.g. the store being down: the unacked delivery comes back later).
    retry_errors: tuple[type[BaseException], ...] = ()
    max_backoff_seconds = 5.0
    # What the default bind declares; `confirms` when handlers publish (e.g. `user.erased`).
    exchange = ""
    queue = ""
    routing_keys: Sequence[str] = ()
    prefetch = 1
    confirms = False
    auto_ack = False
    # How long the loop waits for a delivery before idle() (and before it notices a stop).
    idle_seconds = 0.5

    def __init__(self, amqp_url: str) -> None:
        super().__init__()
        self.amqp_url = amqp_url
        self.connected = threading.Event()

    def bind(self, channel: BlockingChannel) -> None:
        """Declare what this worker consumes (exchange, queues, bindings, qos)."""
        if self.confirms:
            channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.prefetch)
        declare_exchange(channel, self.exchange)
        declare_queue(channel, self.exchange, self.queue, list(self.routing_keys))

    def handle(self, channel: BlockingChannel, event: Event) -> None:
        """What one event does; an error propagates (no ack: the event comes back)."""
        raise NotImplementedError

    def deliver(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        """Parse, handle, then ack. A body that is no event is acked and dropped: it would
        fail the same way on every redelivery."""
        try:
            event = parse_event(body)
        except ValueError as error:
            log.error("poison event dropped", extra={"error": str(error)})
        else:
            self.handle(channel, event)
        channel.basic_ack(method.delivery_tag)

    def consuming(self, channel: BlockingChannel) -> None:
        """Before the first delivery on a new channel."""

    def idle(self, channel: BlockingChannel) -> None:
        """No delivery for `idle_seconds`."""

    def consumed(self, channel: BlockingChannel) -> None:
        """The loop ended on a stop (after an error the connection is simply closed)."""

    def consume(self, channel: BlockingChannel) -> None:
        """Consume until `self._stopping` is set; errors propagate to the retry loop."""
        self.consuming(channel)
        for method, properties, body in channel.consume(
            self.queue, auto_ack=self.auto_ack, inactivity_timeout=self.idle_seconds
        ):
            if self._stopping.is_set():
                break
            if method is None:
                self.idle(channel)
            else:
                self.deliver(channel, method, properties, body)
        self.consumed(channel)

    def retrying(self, error: BaseException) -> str:
        """The log line for an interruption (subclasses may say more about their store)."""
        return f"{self.thread_name}: lost the broker, reconnecting"

    def run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stopping.is_set():
            connection = None
            try:
                connection = connect(self.amqp_url)
                channel = connection.channel()
                self.bind(channel)
                self.connected.set()
                backoff = FIRST_BACKOFF_SECONDS
                self.consume(channel)
            except (pika.exceptions.AMQPError, *self.retry_errors) as error:
                log.warning(self.retrying(error), extra={"error": repr(error)})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
            finally:
                self.connected.clear()
                if connection is not None and connection.is_open:
                    with contextlib.suppress(pika.exceptions.AMQPError):
                        connection.close()
