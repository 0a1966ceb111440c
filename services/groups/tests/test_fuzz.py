"""Property-based fuzzing of the groups OpenAPI schema (schemathesis): no 5xx, responses conform."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.infra


def test_groups_api_holds_its_schema(stack: Any) -> None:
    user = stack.user()
    schema = schemathesis.openapi.from_asgi("/openapi.json", stack.app)
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
            # Rules no schema can state (the recipient's wrapped key must be there, decoded
            # size, roles) refuse some schema-valid requests with 4xx: that is not a bug.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {user.token}"},
                excluded_checks=[positive_data_acceptance],
            )

        conforms()
