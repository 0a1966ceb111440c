"""`user.deleted` for a service without a database: a durable queue of its own, erase, publish
`user.erased` with publisher confirms, then ack. Every delivery erases and confirms again (an
erasure is idempotent), so a redelivery after a crash between the erase and the ack is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pika.adapters.blocking_connection import BlockingChannel

from messaging_kit.erasure import (
    USER_DELETED,
    ErasureRequest,
    erasure_request,
    publish_confirmation,
)
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import Event

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


class BrokerErasureConsumer(BrokerWorker):
    confirms = True  # `user.erased` is published before the ack
    prefetch = 10
    routing_keys = (USER_DELETED,)

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
        super().__init__(amqp_url)
        self.thread_name = f"erasure-{queue}"
        self.service = service
        self.erase = erase
        self.exchange = exchange
        self.queue = queue
        self.retry_errors = retry_errors

    def handle(self, channel: BlockingChannel, event: Event) -> None:
        erase_and_confirm(channel, self.exchange, self.service, event, self.erase)

    def retrying(self, error: BaseException) -> str:
        return "erasure consumer interrupted"
