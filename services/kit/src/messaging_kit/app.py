"""The app factory every service starts from: ops endpoints, metrics, request ids, problems."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from messaging_kit.body_limit import BodyLimitMiddleware
from messaging_kit.metrics import MetricsMiddleware, RequestMetrics, metrics_endpoint
from messaging_kit.problems import document_problems, install_problem_handlers, problem_response
from messaging_kit.request_context import RequestContextMiddleware

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Any]
# A readiness check slower than this counts as failed: the probe itself times out at ~1 s.
READINESS_TIMEOUT_SECONDS = 2.0


async def run_hook(hook: Callable[[], Any]) -> None:
    """A blocking hook runs in a worker thread; a coroutine function (websocket's hub) on the
    app's own event loop, where its tasks must live."""
    if inspect.iscoroutinefunction(hook):
        await hook()
    else:
        await anyio.to_thread.run_sync(hook)


async def run_checks(checks: Mapping[str, ReadinessCheck]) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            with anyio.fail_after(READINESS_TIMEOUT_SECONDS):
                await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
            results[name] = "ok"
        except Exception as error:
            results[name] = f"failing: {type(error).__name__}: {error}"[:300]
    return results


def create_app(
    service: str,
    version: str = "0.1.0",
    *,
    routers: Iterable[APIRouter] = (),
    readiness: Mapping[str, ReadinessCheck] | None = None,
    on_startup: Iterable[Callable[[], Any]] = (),
    on_shutdown: Iterable[Callable[[], Any]] = (),
    description: str = "",
) -> FastAPI:
    """Build a service app. Startup hooks run in order; shutdown hooks in the reverse order,
    after uvicorn has stopped accepting and drained in-flight requests."""
    checks = dict(readiness or {})
    startup, shutdown = list(on_startup), list(on_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in startup:
            await run_hook(hook)
        # After the hooks: by now the service has put its settings and verifier on app.state.
        feeds = []
        if getattr(getattr(app.state, "settings", None), "jwks_url", None):
            from messaging_kit.revocations import attach_revocations  # needs the events extra

            feeds.append(attach_revocations(app))
        if getattr(getattr(app.state, "settings", None), "blocks_url", None):
            from messaging_kit.blocks import attach_blocks

            feeds.append(attach_blocks(app))
        log.info("service started", extra={"version": version})
        try:
            yield
        finally:
            for feed in feeds:
                if feed is not None:
                    await anyio.to_thread.run_sync(feed.stop)
            for hook in reversed(shutdown):
                try:
                    await run_hook(hook)
                except Exception:
                    log.exception("shutdown hook failed")
            log.info("service stopped")

    app = FastAPI(
        title=f"messaging {service}", version=version, description=description, lifespan=lifespan
    )
    metrics = RequestMetrics(service, version)
    app.state.metrics = metrics
    app.state.service = service
    # Who blocked whom (messaging_kit.blocks): fed when the service sets `blocks_url`.
    from messaging_kit.blocks import BlockList

    app.state.blocks = BlockList()
    install_problem_handlers(app)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": service, "version": version}

    @app.get("/ready", tags=["ops"], responses={503: {"description": "a dependency is down"}})
    async def ready() -> JSONResponse:
        """Readiness: every real dependency of this service answers."""
        results = await run_checks(checks)
        if all(value == "ok" for value in results.values()):
            return JSONResponse({"status": "ready", "service": service, "checks": results})
        return problem_response(
            503, "not-ready", "A dependency is not answering", service=service, checks=results
        )

    app.add_api_route("/metrics", metrics_endpoint(metrics), include_in_schema=False)
    for router in routers:
        app.include_router(router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # Outermost first: request id wraps metrics so even a crash is counted and logged; the
    # body limit is innermost, so its 413s are counted and carry the request id.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    return app
