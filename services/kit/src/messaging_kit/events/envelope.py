"""The one JSON shape every event has on the wire."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from messaging_kit.logs import current_request_id


@dataclass(frozen=True)
class Event:
    id: str  # the idempotency key consumers record
    type: str  # also the routing key, e.g. "user.registered"
    source: str
    occurred_at: str
    data: dict[str, Any]
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "data": self.data,
        }


def new_event(event_type: str, source: str, data: dict[str, Any]) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        occurred_at=datetime.now(UTC).isoformat(),
        data=data,
        request_id=current_request_id(),
    )


def parse_event(body: bytes) -> Event:
    """Raise ValueError for anything that is not a well-formed event (a poison message)."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError("body is not a JSON object")
    try:
        event_id = str(uuid.UUID(str(raw["id"])))
        event_type, source, data = raw["type"], raw.get("source", ""), raw["data"]
    except (KeyError, ValueError) as error:
        raise ValueError(f"missing or bad field: {error}") from None
    if not isinstance(event_type, str) or not isinstance(data, dict):
        raise ValueError("type must be a string and data an object")
    request_id = raw.get("request_id")
    return Event(
        id=event_id,
        type=event_type,
        source=str(source),
        occurred_at=str(raw.get("occurred_at", "")),
        data=data,
        request_id=request_id if isinstance(request_id, str) else None,
    )
