"""Events over a RabbitMQ topic exchange: transactional outbox, relay, idempotent consumers."""

from messaging_kit.events.envelope import Event, new_event
from messaging_kit.events.outbox import EventTables, add_event, event_tables

__all__ = ["Event", "EventTables", "add_event", "event_tables", "new_event"]
