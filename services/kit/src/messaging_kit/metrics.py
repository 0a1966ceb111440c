"""Prometheus request metrics, labelled by route template so cardinality stays bounded.

The canary analysis reads these two series:
  http_requests_total{service, version, route, method, status_class}
  http_request_duration_seconds{service, version, route, method}  (histogram)
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "unmatched"
# Latency buckets around the 200 ms p95 a canary is judged by.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """One registry per app, so several apps can live in one test process."""

    def __init__(self, service: str, version: str) -> None:
        self.service = service
        self.version = version
        self.registry = CollectorRegistry()
        # The process's CPU, memory, file descriptors and GC, as the default registry has them.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.requests = Counter(
            "http_requests",
            "HTTP requests handled, by route template and status class",
            ["service", "version", "route", "method", "status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            ["service", "version", "route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # labels() builds and locks a key on every call; the set of children is bounded by
        # routes x methods x status classes, so look each one up once.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status // 100)
        children = self._children.get(key)
        if children is None:
            labels = (self.service, self.version, route, method)
            children = (
                self.requests.labels(*labels, f"{status // 100}xx"),
                self.latency.labels(*labels),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> Response:
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Several workers (messaging_kit.cli): every worker's samples, added up; the
            # per-process collectors have no meaning across processes.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The path template FastAPI matched (`/api/v1/users/{user_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app: Any = scope.get("app")
    router = getattr(app, "router", None)
    for candidate in getattr(router, "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED_ROUTE))
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            if route != "/metrics":
                elapsed = time.perf_counter() - started
                self.metrics.observe(route, scope["method"], status, elapsed)


def metrics_endpoint(metrics: RequestMetrics) -> Any:
    async def render(request: Request) -> Response:
        return metrics.render()

    return render
