"""Events over a RabbitMQ topic exchange: transactional outbox, relay, idempotent consumers.

The outbox names load on first use: relay and websocket consume events but own no database, so
their images have no SQLAlchemy, and importing `messaging_kit.events.broker` must not need it.
"""

from typing import TYPE_CHECKING, Any

from messaging_kit.events.envelope import Event, new_event

if TYPE_CHECKING:
    from messaging_kit.events.outbox import EventTables, add_event, event_tables

__all__ = ["Event", "EventTables", "add_event", "event_tables", "new_event"]
_OUTBOX = {"EventTables", "add_event", "event_tables"}


def __getattr__(name: str) -> Any:
    if name in _OUTBOX:
        from messaging_kit.events import outbox

        return getattr(outbox, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
