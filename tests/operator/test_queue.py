"""The reconcile queue folds bursts of events into one reconcile per platform."""

import asyncio

from messaging_operator.queue import ReconcileQueue


def test_burst_becomes_one_reconcile_and_keys_never_overlap():
    calls: list[tuple[str, str]] = []
    running: set[tuple[str, str]] = set()
    overlaps = 0

    async def work(key):
        nonlocal overlaps
        if key in running:
            overlaps += 1
        running.add(key)
        calls.append(key)
        await asyncio.sleep(0.05)
        running.discard(key)

    async def scenario():
        queue = ReconcileQueue(work, workers=3, debounce=0.02)
        queue.start()
        for _ in range(50):
            queue.add(("ns", "a"))
        queue.add(("ns", "b"))
        await asyncio.sleep(0.03)
        queue.add(("ns", "a"))  # arrives while "a" runs: one more pass afterwards
        for _ in range(100):
            await asyncio.sleep(0.01)
            if queue.idle():
                break
        await queue.stop()

    asyncio.run(scenario())
    assert calls.count(("ns", "b")) == 1
    assert calls.count(("ns", "a")) == 2
    assert overlaps == 0


def test_failure_is_retried_with_backoff():
    attempts = 0

    async def work(key):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("apiserver blinked")

    async def scenario():
        queue = ReconcileQueue(work, workers=1, debounce=0)
        queue.start()
        queue.add(("ns", "a"))
        await asyncio.sleep(1.3)  # first retry comes after 1 s
        await queue.stop()

    asyncio.run(scenario())
    assert attempts == 2
