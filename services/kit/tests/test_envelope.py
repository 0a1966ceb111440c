"""Poison detection: any bytes either parse into an Event or raise ValueError, nothing else."""

from __future__ import annotations

import contextlib
import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from messaging_kit.events.envelope import Event, new_event, parse_event

# No example database: the suite leaves nothing behind in the checkout.
NO_DATABASE = settings(
    database=None, deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@given(st.binary())
@NO_DATABASE
def test_arbitrary_bytes_never_crash_the_parser(body: bytes) -> None:
    with contextlib.suppress(ValueError):
        assert isinstance(parse_event(body), Event)


@given(
    st.dictionaries(st.sampled_from(["id", "type", "data", "source", "request_id"]), json_values)
)
@NO_DATABASE
def test_arbitrary_envelopes_never_crash_the_parser(raw: dict[str, object]) -> None:
    try:
        event = parse_event(json.dumps(raw).encode())
    except ValueError:
        return
    assert uuid.UUID(event.id)
    assert isinstance(event.data, dict)


@given(st.text(min_size=1), st.dictionaries(st.text(), json_values))
@NO_DATABASE
def test_an_event_round_trips(event_type: str, data: dict[str, object]) -> None:
    event = new_event(event_type, "kit", data)
    assert parse_event(json.dumps(event.to_json()).encode()) == event
