"""Property-based fuzzing of auth's OpenAPI schema (schemathesis): no 5xx, responses conform."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from auth_service.main import create_app
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.infra


def test_auth_api_holds_its_schema(make_settings: Any, register: Any) -> None:
    app = create_app(make_settings())
    with TestClient(app) as client:
        token = register(client, "fuzzer")["tokens"]["access_token"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
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
