"""A thread that holds one broker connection: connect, bind, consume; on a broker error (or
one of the store errors a subclass names) close, back off and start again. Every consumer in
the kit has this shape; subclasses say what to bind and what to do with each delivery."""

from __future__ import annotations

import contextlib
import logging
import threading

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from messaging_kit.events.broker import connect
from messaging_kit.workers import BackgroundWorker

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.2


class BrokerWorker(BackgroundWorker):
    # Errors after which the connection is dropped and the loop starts again, besides the
    # broker's own (e.g. the store being down: the unacked delivery comes back later).
    retry_errors: tuple[type[BaseException], ...] = ()
    max_backoff_seconds = 5.0

    def __init__(self, amqp_url: str) -> None:
        super().__init__()
        self.amqp_url = amqp_url
        self.connected = threading.Event()

    def bind(self, channel: BlockingChannel) -> None:
        """Declare what this worker consumes (exchange, queues, bindings, qos)."""
        raise NotImplementedError

    def consume(self, channel: BlockingChannel) -> None:
        """Consume until `self._stopping` is set; errors propagate to the retry loop."""
        raise NotImplementedError

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
