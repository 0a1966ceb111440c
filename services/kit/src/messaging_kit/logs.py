"""JSON logs on stdout, each line carrying the request id of the request (or event) at hand."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from contextvars import ContextVar
from typing import IO

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.service = self.service
        return True


class AccessLog:
    """One JSON line per request, serialised in one call and written straight to the stream.

    Per request, the logging machinery (record, filter, formatter, handler lock) cost ~20x
    more than the line itself. The fields match the JSON formatter's, so both kinds of line
    read alike. Until configure_logging() gives it a stream (tests, embedded apps), lines go
    through the `messaging.request` logger instead.
    """

    def __init__(self) -> None:
        self.stream: IO[str] | None = None
        self.service = ""
        self._second = -1
        self._stamp = ""

    def configure(self, stream: IO[str] | None, service: str) -> None:
        self.stream, self.service = stream, service

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:  # the formatting is the costly part: once a second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        return f"{self._stamp},{int((now - second) * 1000):03d}"

    def write(
        self, request_id: str, method: str, route: str, status: int, duration_ms: float
    ) -> None:
        fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms}
        stream = self.stream
        if stream is None:
            logging.getLogger("messaging.request").info("request", extra=fields)
            return
        if not ACCESS_LOGGER.isEnabledFor(logging.INFO):
            return
        line = json.dumps(
            {
                "time": self._time(time.time()),
                "level": "INFO",
                "logger": ACCESS_LOGGER.name,
                "message": "request",
                "service": self.service,
                "request_id": request_id,
                **fields,
            }
        )
        stream.write(line + "\n")
        stream.flush()


ACCESS_LOGGER = logging.getLogger("messaging.request")
ACCESS_LOG = AccessLog()


def configure_logging(service: str, level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Route the root logger (and uvicorn's) to one JSON handler; safe to call twice."""
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestIdFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access lines duplicate our own request log line, which has the route and request id.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    ACCESS_LOG.configure(stream, service)
