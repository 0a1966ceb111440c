"""RFC 9457 problem details: every error leaves a service as application/problem+json.

`type` values are stable URNs (clients match on them, never on `title` or `detail`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from messaging_kit.logs import current_request_id
from messaging_kit.unavailable import RETRY_AFTER_SECONDS, is_store_unavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:messaging:problem:"
log = logging.getLogger(__name__)

# Default slug per status for errors raised without one (404 from routing, 405 ...).
_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


class Problem(Exception):  # noqa: N818 - it is the RFC's name for the thing
    """Raise from a route or crud function; becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def describe_validation_errors(errors: Any) -> list[dict[str, str]]:
    """[{field: "body.email", reason: "..."}] from pydantic's error list."""
    described = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        described.append({"field": ".".join(location) or "request", "reason": error.get("msg", "")})
    return described


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extensions,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = describe_validation_errors(exc.errors())
    detail = "; ".join(f"{item['field']}: {item['reason']}" for item in errors)
    return problem_response(
        422,
        "validation-error",
        "Request is not valid",
        detail,
        instance=request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = _STATUS_SLUGS.get(exc.status_code, f"http-{exc.status_code}")
    title = slug.replace("-", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(
        exc.status_code, slug, title, detail, instance=request.url.path, headers=exc.headers
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_store_unavailable(exc):
        log.warning(
            "store unavailable on %s %s: %s", request.method, request.url.path, exc.__class__
        )
        return problem_response(
            503,
            "unavailable",
            "A store this service needs is not answering",
            "retry after the Retry-After seconds (with the same idempotency key)",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal-error", "Internal error", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "stable URN, e.g. urn:messaging:problem:..."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation answers errors as problem+json: say so in the OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {"description": "Request is not valid", "content": content}
            responses["default"] = {"description": "An error, as a problem", "content": content}
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    return schema
