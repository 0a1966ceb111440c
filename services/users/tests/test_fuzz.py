"""Property-based fuzzing of the users OpenAPI schema (schemathesis): no 5xx, responses conform."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.infra


def test_users_api_holds_its_schema(stack: Any) -> None:
    token, _ = stack.user("fuzz_me")
    stack.user("fuzz_other")
    schema = schemathesis.openapi.from_asgi("/openapi.json", stack.users.app)
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        conforms()
