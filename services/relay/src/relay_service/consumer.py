"""Consumes message.created and group.message.created; queues them for offline recipients.

No database here, so idempotency is the queue's own: entries are keyed by message id, a
redelivered event re-adds nothing. Acked only after Redis took it; a Redis outage closes the
channel and RabbitMQ redelivers. `user.deleted` erases the user's queue and their messages in
others' queues, then `user.erased` is published (with publisher confirms) before the ack.
"""

from __future__ import annotations

import redis
from messaging_kit.erasure import USER_DELETED
from messaging_kit.erasure_consumer import erase_and_confirm
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import Event
from pika.adapters.blocking_connection import BlockingChannel

from relay_service import SERVICE
from relay_service.erasure import erase_user
from relay_service.queue import OfflineQueues

QUEUED_TYPES = ("message.created", "group.message.created")
ROUTING_KEYS = [*QUEUED_TYPES, "message.deleted", USER_DELETED]


def entry_for(event: Event, user_id: str) -> dict[str, object]:
    """What the user will fetch: the event, with only the message key wrapped for them."""
    data = {k: v for k, v in event.data.items() if k not in ("keys", "recipient_ids")}
    keys = event.data.get("keys")
    if isinstance(keys, dict):
        data["wrapped_key"] = keys.get(user_id)
    return {"id": event.id, "type": event.type, "occurred_at": event.occurred_at, "data": data}


def handle(queues: OfflineQueues, event: Event) -> int:
    """Queue the event for each offline recipient but the sender; returns how many."""
    recipients = [str(r) for r in event.data.get("recipient_ids") or [] if isinstance(r, str)]
    message_id = str(event.data.get("message_id", ""))
    if not message_id:
        return 0
    if event.type == "message.deleted":
        if event.data.get("scope") == "everyone":
            for user in recipients:
                queues.acknowledge(user, [message_id])
        return 0
    queued = 0
    for user in recipients:
        if user == event.data.get("sender_id") or queues.is_online(user):
            continue
        sender = str(event.data.get("sender_id") or "")
        queued += queues.enqueue(user, message_id, entry_for(event, user), sender)
    return queued


class RelayConsumer(BrokerWorker):
    thread_name = "relay-consumer"
    # Redis down: the unacked event comes back once the loop reconnects.
    retry_errors = (redis.RedisError,)
    confirms = True  # for user.erased
    prefetch = 100
    routing_keys = ROUTING_KEYS

    def __init__(self, queues: OfflineQueues, amqp_url: str, exchange: str, queue: str) -> None:
        super().__init__(amqp_url)
        self.queues = queues
        self.exchange = exchange
        self.queue = queue

    def retrying(self, error: BaseException) -> str:
        return "relay consumer interrupted"

    def handle(self, channel: BlockingChannel, event: Event) -> None:
        if event.type == USER_DELETED:
            erase_and_confirm(
                channel,
                self.exchange,
                SERVICE,
                event,
                lambda request: erase_user(self.queues, request.user),
            )
        else:
            handle(self.queues, event)
