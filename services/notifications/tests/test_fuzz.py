"""Property-based fuzzing of the notifications API over HTTP (schemathesis): no 5xx, and
every response conforms to the OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.infra


def test_notifications_api_holds_its_schema(notifications: Any) -> None:
    headers = notifications.headers(uuid.uuid4())
    schema = schemathesis.openapi.from_url(f"{notifications.url}/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers)

        conforms()
