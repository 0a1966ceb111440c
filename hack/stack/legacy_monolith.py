"""A stand-in for the legacy monolith the new services strangle, for the local stack.

It answers every request under the same /api/v1/... prefixes (and /ws) the services own, with
`X-Served-By: legacy` and a JSON body whose `served_by` is "legacy", so anything reaching it
through the gateway can tell which side of a weighted route it landed on.

    python hack/stack/legacy_monolith.py [--host 127.0.0.1] [--port 8000] [--pod]

On the host it binds loopback only. `--pod` (its image's default) binds every address of the
network namespace it runs in, which in a pod is the pod's own address.
"""

from __future__ import annotations

import argparse
import ipaddress

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

SERVED_BY = "legacy"
PREFIXES = (
    "auth",
    "users",
    "messages",
    "groups",
    "media",
    "relay",
    "notifications",
    "websocket",
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app() -> FastAPI:
    app = FastAPI(title="legacy monolith (local stand-in)", docs_url=None, redoc_url=None)
    registry = CollectorRegistry()
    requests = Counter(
        "legacy_requests_total",
        "Requests the legacy monolith answered, by service prefix",
        ["prefix"],
        registry=registry,
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "served_by": SERVED_BY}

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def answer(request: Request, prefix: str) -> JSONResponse:
        requests.labels(prefix).inc()
        return JSONResponse(
            {"served_by": SERVED_BY, "method": request.method, "path": request.url.path},
            headers={"X-Served-By": SERVED_BY},
        )

    @app.api_route("/api/v1/{prefix}", methods=METHODS)
    def service_root(prefix: str, request: Request) -> JSONResponse:
        return answer(request, prefix if prefix in PREFIXES else "other")

    @app.api_route("/api/v1/{prefix}/{rest:path}", methods=METHODS)
    def service_path(prefix: str, rest: str, request: Request) -> JSONResponse:
        return answer(request, prefix if prefix in PREFIXES else "other")

    @app.api_route("/ws", methods=METHODS)
    def socket_path(request: Request) -> JSONResponse:
        return answer(request, "websocket")

    return app


def loopback(value: str) -> str:
    if not ipaddress.ip_address(value).is_loopback:
        raise argparse.ArgumentTypeError(f"{value} is not a loopback address")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=loopback, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--pod", action="store_true", help="bind all addresses (inside a pod's own namespace)"
    )
    args = parser.parse_args()
    host = "0.0.0.0" if args.pod else args.host  # noqa: S104 - a pod's namespace, by request
    uvicorn.run(create_app(), host=host, port=args.port, access_log=False)


if __name__ == "__main__":
    main()
