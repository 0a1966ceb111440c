"""Account erasure: auth's `user.deleted` in, each service's `user.erased` confirmation out.

The contract (services/EVENTS.md): `user.deleted` carries `{user_id, erasure_id, requested_at}`;
auth may publish the same erasure_id again (a retry, with a new event id), so a service's
erasure must be idempotent and confirm every time it runs. A service with a database confirms
through its outbox, in the erasure's own transaction; one without publishes the confirmation
with publisher confirms after erasing, and acks `user.deleted` only after that.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from messaging_kit.events.envelope import Event, new_event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from messaging_kit.events.outbox import EventTables

log = logging.getLogger(__name__)

USER_DELETED = "user.deleted"
USER_ERASED = "user.erased"


@dataclass(frozen=True)
class ErasureRequest:
    user_id: uuid.UUID
    erasure_id: str
    requested_at: str

    @property
    def user(self) -> str:
        """The user id as events and Redis keys spell it."""
        return str(self.user_id)


def erasure_request(event: Event) -> ErasureRequest:
    """The request a `user.deleted` event carries; ValueError if it is not one."""
    try:
        user_id = uuid.UUID(str(event.data["user_id"]))
        erasure_id = str(uuid.UUID(str(event.data["erasure_id"])))
    except (KeyError, ValueError) as error:
        raise ValueError(f"not a user.deleted payload: {error!r}") from None
    return ErasureRequest(user_id, erasure_id, str(event.data.get("requested_at", "")))


def confirmation(request: ErasureRequest, service: str) -> dict[str, str]:
    return {"user_id": request.user, "erasure_id": request.erasure_id, "service": service}


def confirm_in_outbox(
    session: Session, tables: EventTables, request: ErasureRequest, service: str
) -> Event:
    """Queue `user.erased` in the erasure's transaction: confirmed only if the erase commits."""
    from messaging_kit.events.outbox import add_event

    return add_event(session, tables, USER_ERASED, service, confirmation(request, service))


Eraser = Callable[["Session", ErasureRequest], object]  # what it returns is logged


def scrub_sent_outbox(session: Session, tables: EventTables, request: ErasureRequest) -> int:
    """Delete already published outbox rows that mention the user (kept only for tracing, they
    would hold their data for the retention period). Unsent rows stay: they are other people's
    news still on its way. A scan of the outbox; it holds only the retention window."""
    from sqlalchemy import String, cast, delete

    outbox = tables.outbox
    result = session.execute(
        delete(outbox).where(
            outbox.c.sent_at.is_not(None),
            cast(outbox.c.body, String).contains(request.user),
        )
    )
    return rows_affected(result)


def erasure_handler(
    service: str, tables: EventTables, erase: Eraser
) -> Callable[[Session, Event], None]:
    """A kit consumer handler for `user.deleted`: tombstone, erase, scrub the sent outbox,
    confirm, all in the consumer's one transaction."""
    from messaging_kit.tombstones import record_erased

    def handle(session: Session, event: Event) -> None:
        request = erasure_request(event)
        # First: it waits for writers that passed the check (their rows are then erased
        # below); later ones see the tombstone.
        record_erased(session, tables, request)
        erased = erase(session, request)
        scrubbed = scrub_sent_outbox(session, tables, request)
        confirm_in_outbox(session, tables, request, service)
        log.info(
            "user erased",
            extra={"erasure_id": request.erasure_id, "erased": repr(erased), "outbox": scrubbed},
        )

    return handle


def publish_confirmation(
    channel: Any, exchange: str, request: ErasureRequest, service: str
) -> Event:
    """For services without a database: publish `user.erased` on a channel in confirm mode
    (`channel.confirm_delivery()`); pika raises if the broker does not confirm it."""
    import pika

    event = new_event(USER_ERASED, service, confirmation(request, service))
    channel.basic_publish(
        exchange=exchange,
        routing_key=USER_ERASED,
        body=json.dumps(event.to_json()).encode(),
        properties=pika.BasicProperties(
            message_id=event.id,
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
        ),
    )
    return event


def rows_affected(result: Any) -> int:
    """How many rows a DELETE or UPDATE touched (for erasure reports and logs)."""
    return int(getattr(result, "rowcount", 0) or 0)
