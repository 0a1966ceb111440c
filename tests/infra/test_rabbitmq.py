"""RabbitMQ from `make infra-up` is real: a message published to a queue is consumed from it."""

import uuid

import pika
import pytest

pytestmark = pytest.mark.infra


def test_amqp_publish_consume(amqp_url: str) -> None:
    params = pika.URLParameters(amqp_url)
    params.socket_timeout = 5
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        body = f"hello {uuid.uuid4()}".encode()
        channel.basic_publish(
            exchange="",
            routing_key=queue,
            body=body,
            properties=pika.BasicProperties(
                content_type="text/plain", delivery_mode=pika.DeliveryMode.Persistent
            ),
        )
        method, properties, received = next(channel.consume(queue, inactivity_timeout=10))
        assert method is not None, "no message arrived within 10 s"
        assert received == body
        assert properties.content_type == "text/plain"
        channel.basic_ack(method.delivery_tag)
        channel.cancel()
    finally:
        connection.close()
