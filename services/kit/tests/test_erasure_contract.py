"""The user.deleted / user.erased contract and export values, as pure functions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from messaging_kit.erasure import confirmation, erasure_request
from messaging_kit.events.envelope import new_event
from messaging_kit.export import json_value


def test_a_user_deleted_event_becomes_a_request_and_a_confirmation() -> None:
    user, erasure = uuid.uuid4(), uuid.uuid4()
    event = new_event(
        "user.deleted",
        "auth",
        {"user_id": str(user), "erasure_id": str(erasure), "requested_at": "2026-12-01T07:00Z"},
    )
    request = erasure_request(event)
    assert request.user_id == user
    assert request.requested_at == "2026-12-01T07:00Z"
    assert confirmation(request, "groups") == {
        "user_id": str(user),
        "erasure_id": str(erasure),
        "service": "groups",
    }


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"user_id": "not-a-uuid", "erasure_id": str(uuid.uuid4())},
        {"user_id": str(uuid.uuid4())},
        {"user_id": str(uuid.uuid4()), "erasure_id": "x"},
    ],
)
def test_a_malformed_payload_is_refused(data: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"not a user\.deleted payload"):
        erasure_request(new_event("user.deleted", "auth", data))


def test_export_values_are_plain_json() -> None:
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    user = uuid.uuid4()
    assert json_value({"at": moment, "ids": [user], "raw": b"\x00\xff", user: 1}) == {
        "at": "2026-12-01T00:00:00+00:00",
        "ids": [str(user)],
        "raw": "AP8=",
        str(user): 1,
    }
