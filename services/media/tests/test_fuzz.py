"""Property-based fuzzing of the media API over HTTP, uploads included (schemathesis): no 5xx,
and every response conforms to the OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

pytestmark = pytest.mark.infra


def fuzz(operation: Any, headers: dict[str, str], excluded: list[Any]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    conforms()


def test_media_api_holds_its_schema(media: Any) -> None:
    headers = media.headers(uuid.uuid4())
    schema = schemathesis.openapi.from_url(f"{media.url}/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        # Whether a file is accepted depends on its bytes, which no schema can describe.
        upload = operation.path.endswith("/upload")
        fuzz(operation, headers, [positive_data_acceptance] if upload else [])
