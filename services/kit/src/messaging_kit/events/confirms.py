"""Publishing a batch to RabbitMQ with publisher confirms, waiting once for the whole batch.

pika's BlockingChannel in confirm mode waits for each message's Basic.Ack before sending the
next: one broker round trip (and an fsync for persistent messages) per event. Here confirm
mode is switched on on the asynchronous channel under the blocking facade, every message of
the batch is written at once, and the broker's acks (usually one `multiple` ack for many
messages) are awaited together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pika
import pika.exceptions
import pika.spec
from pika.adapters.blocking_connection import BlockingChannel

CONFIRM_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Outgoing:
    routing_key: str
    body: bytes
    properties: pika.BasicProperties


def _nothing() -> None:
    pass


class ConfirmTimeout(pika.exceptions.AMQPError):
    pass


class BatchNacked(pika.exceptions.AMQPError):
    pass


class ConfirmedPublisher:
    def __init__(self, connection: pika.BlockingConnection, channel: BlockingChannel) -> None:
        self.connection = connection
        self.channel = channel
        # The blocking channel's own confirm mode is left off, so its basic_publish returns
        # as soon as the frame is written; the acks arrive on the underlying channel.
        self._impl = channel._impl
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm)
        self._last_tag = 0  # delivery tags count from 1 per channel once confirms are on
        self._unconfirmed: set[int] = set()
        self._nacked = 0

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tag: int = method.delivery_tag
        done = (
            {t for t in self._unconfirmed if t <= tag} if method.multiple else {tag}
        ) & self._unconfirmed
        self._unconfirmed -= done
        if isinstance(method, pika.spec.Basic.Nack):
            self._nacked += len(done)
        if not self._unconfirmed:
            # Acks reach this callback without ending process_data_events' wait; a due timer
            # is a ready event for the blocking connection, so it returns now, not at its limit.
            self.connection.call_later(0, _nothing)

    def publish(
        self, exchange: str, batch: list[Outgoing], timeout: float = CONFIRM_TIMEOUT_SECONDS
    ) -> None:
        """Return once the broker confirmed every message; raise if any was refused, the
        channel closed or the confirms did not come in time (then all count as unsent)."""
        self._nacked = 0
        for message in batch:
            # Counted before the write: its ack can arrive while basic_publish flushes.
            self._last_tag += 1
            self._unconfirmed.add(self._last_tag)
            self.channel.basic_publish(
                exchange=exchange,
                routing_key=message.routing_key,
                body=message.body,
                properties=message.properties,
            )
        deadline = time.monotonic() + timeout
        while self._unconfirmed:
            if self.channel.is_closed or not self.connection.is_open:
                raise pika.exceptions.ChannelClosed(-1, "channel closed before the confirms")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmTimeout(f"{len(self._unconfirmed)} publishes not confirmed")
            self.connection.process_data_events(time_limit=min(remaining, 1.0))
        if self._nacked:
            raise BatchNacked(f"the broker refused {self._nacked} of {len(batch)} messages")
