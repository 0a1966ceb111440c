"""A request whose store is down, or does not answer, fails fast with a 503 the client can
retry (Retry-After), not a 500 and not a stall. Real psycopg2/libpq and redis-py against real
sockets: a port nothing listens on, and a server that accepts and never answers. The clients
are the kit's (messaging_kit.db, messaging_kit.redis_client), as the services build them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter
from messaging_kit.app import create_app
from messaging_kit.db import Database
from messaging_kit.redis_client import redis_client
from messaging_testing.infra import LiveServer, free_port
from sqlalchemy import text


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (a hung server, a half-open address)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    listener.close()


def app_with_stores(pg_port: int, redis_port: int) -> LiveServer:
    db = Database(f"postgresql://u:p@127.0.0.1:{pg_port}/db", pool_size=1, max_overflow=0)
    cache = redis_client(f"redis://127.0.0.1:{redis_port}/0")
    router = APIRouter()

    @router.get("/db")
    def read_db() -> int:
        with db.sessions() as session:
            return int(session.execute(text("SELECT 1")).scalar_one())

    @router.get("/redis")
    def read_redis() -> bool:
        return bool(cache.ping())

    return LiveServer(create_app("demo", routers=[router]))


def ask(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=30)
    return response, time.monotonic() - started


@pytest.mark.parametrize("path", ["/db", "/redis"])
def test_a_store_that_is_down_is_a_fast_retryable_503(path: str) -> None:
    with app_with_stores(free_port(), free_port()) as server:
        response, took = ask(server.url + path)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "urn:messaging:problem:unavailable"
    assert took < 1.5, f"{took:.1f}s"


def test_a_database_that_never_answers_is_a_503_after_the_connect_timeout(
    silent_server: int,
) -> None:
    with app_with_stores(silent_server, free_port()) as server:
        response, took = ask(server.url + "/db")
    assert response.status_code == 503, response.text
    assert 1.5 < took < 4, f"{took:.1f}s"  # libpq's connect_timeout (2 s), not the OS' minutes
