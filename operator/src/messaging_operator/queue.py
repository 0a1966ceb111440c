"""A work queue of platforms to reconcile: coalesced, one reconcile per platform at a time.

Watch events for a platform and all its children land here; a burst of them (a Deployment and
its ReplicaSets and pods changing together) becomes one reconcile. Failures retry with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
MAX_BACKOFF_SECONDS = 60.0


class ReconcileQueue:
    def __init__(
        self,
        work: Callable[[Key], Awaitable[None]],
        *,
        workers: int = 4,
        debounce: float = 0.2,
    ) -> None:
        self._work = work
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        self._running: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._debounce = debounce
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def add(self, key: Key) -> None:
        if key in self._pending:
            return
        self._pending.add(key)
        if key not in self._running:
            self._queue.put_nowait(key)

    def add_after(self, key: Key, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def idle(self) -> bool:
        return not self._pending and not self._running

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            await asyncio.sleep(self._debounce)
            self._pending.discard(key)
            self._running.add(key)
            try:
                await self._work(key)
                self._failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures = self._failures[key] = self._failures.get(key, 0) + 1
                delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (failures - 1))
                log.warning("reconcile of %s/%s failed (%s); retry in %.0fs", *key, error, delay)
                self.add_after(key, delay)
            finally:
                self._running.discard(key)
                if key in self._pending:
                    self._queue.put_nowait(key)
