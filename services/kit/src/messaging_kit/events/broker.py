"""Connecting to RabbitMQ and declaring the topology every service agrees on."""

from __future__ import annotations

import pika
from pika.adapters.blocking_connection import BlockingChannel

# Heartbeats every 30 s: a dead broker is noticed within a minute even when idle.
HEARTBEAT_SECONDS = 30


def connect(amqp_url: str) -> pika.BlockingConnection:
    parameters = pika.URLParameters(amqp_url)
    parameters.heartbeat = HEARTBEAT_SECONDS
    parameters.blocked_connection_timeout = 30
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    return pika.BlockingConnection(parameters)


def broker_check(amqp_url: str) -> None:
    """Readiness: the broker takes a connection."""
    connect(amqp_url).close()


def declare_exchange(channel: BlockingChannel, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def declare_queue(
    channel: BlockingChannel, exchange: str, queue: str, routing_keys: list[str]
) -> None:
    """A durable queue bound to the exchange, and its dead-letter queue beside it."""
    channel.queue_declare(queue=dead_letter_queue_name(queue), durable=True)
    channel.queue_declare(queue=queue, durable=True)
    for key in routing_keys:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=key)
