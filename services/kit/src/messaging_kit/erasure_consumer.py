"""`user.deleted` for a service without a database: a durable queue of its own, erase, publish
`user.erased` with publisher confirms, then ack. Every delivery erases and confirms again (an
erasure is idempotent), so a redelivery after a crash between the erase and the ack is safe.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from messaging_kit.erasure import (
    USER_DELETED,
    ErasureRequest,
    erasure_request,
    publish_confirmation,
)
from messaging_kit.events.broker import connect, declare_exchange, declare_queue
from messaging_kit.events.envelope import Event, parse_event

log = logging.getLogger(__name__)


def erase_and_confirm(
    channel: BlockingChannel,
    exchange: str,
    service: str,
    event: Event,
    erase: Callable[[ErasureRequest], object],
) -> None:
    """Erase, then publish `user.erased` on the channel (in confirm mode); a bad payload is
    logged and dropped. Errors propagate: the caller does not ack, the event comes back."""
    try:
        request = erasure_request(event)
    except ValueError as error:
        log.error("bad user.deleted dropped", extra={"error": str(error)})
        return
    erased = erase(request)
    publish_confirmation(channel, exchange, request, service)
    log.info("user erased", extra={"erasure_id": request.erasure_id, "erased": repr(erased)})


class BrokerErasureConsumer:
    def __init__(
        self,
        service: str,
        erase: Callable[[ErasureRequest], object],
        amqp_url: str,
        exchange: str,
        queue: str,
        *,
        retry_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        """retry_errors: the store's own errors (e.g. RedisError): back off and reconnect,
        the unacked event comes back."""
        self.service = service
        self.erase = erase
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue = queue
        self.retry_errors = retry_errors
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"erasure-{self.queue}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def handle(self, channel: BlockingChannel, body: bytes) -> None:
        try:
            event = parse_event(body)
        except ValueError as error:
            log.error("poison event dropped", extra={"error": str(error)})
            return
        erase_and_confirm(channel, self.exchange, self.service, event, self.erase)

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            connection = None
            try:
                connection = connect(self.amqp_url)
                channel = connection.channel()
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=10)
                declare_exchange(channel, self.exchange)
                declare_queue(channel, self.exchange, self.queue, [USER_DELETED])
                self.connected.set()
                backoff = 0.2
                for method, _, body in channel.consume(self.queue, inactivity_timeout=0.5):
                    if self._stopping.is_set():
                        break
                    if method is None:
                        continue
                    self.handle(channel, body)
                    channel.basic_ack(method.delivery_tag)
            except (pika.exceptions.AMQPError, *self.retry_errors) as error:
                log.warning("erasure consumer interrupted", extra={"error": repr(error)})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.connected.clear()
                if connection is not None and connection.is_open:
                    with contextlib.suppress(pika.exceptions.AMQPError):
                        connection.close()
