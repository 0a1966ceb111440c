"""Steady load through the gateway, as clients make it: a few threads with kept-alive
connections, each request's outcome recorded with its time, so a test can count what failed and
say when traffic was whole again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Outcome:
    at: float  # time.monotonic() when the answer (or the error) came
    ok: bool
    detail: str


@dataclass
class SteadyLoad:
    """`request(client)` from `threads` threads, each at most `rate / threads` a second."""

    request: Callable[[httpx.Client], httpx.Response]
    ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200
    rate: float = 40.0
    threads: int = 4
    base_url: str = "http://127.0.0.1:8080"
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self) -> None:
        pause = self.threads / self.rate
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    response = self.request(client)
                    outcome = Outcome(
                        time.monotonic(), self.ok(response), str(response.status_code)
                    )
                except httpx.HTTPError as error:
                    outcome = Outcome(time.monotonic(), False, type(error).__name__)
                with self._lock:
                    self.outcomes.append(outcome)
                self._stop.wait(max(0.0, pause - (time.monotonic() - began)))

    def __enter__(self) -> SteadyLoad:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    def failures(self, since: float = 0.0) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if not o.ok and o.at >= since]

    def count(self, since: float = 0.0) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o.at >= since)

    def summary(self, since: float) -> str:
        failed = self.failures(since)
        kinds: dict[str, int] = {}
        for outcome in failed:
            kinds[outcome.detail] = kinds.get(outcome.detail, 0) + 1
        disrupted = (failed[-1].at - since) if failed else 0.0
        return (
            f"{self.count(since)} requests, {len(failed)} failed {kinds or ''}, "
            f"last failure {disrupted:.2f} s after the event"
        )
