"""A daemon thread with a stop flag: the shape of every background loop in the services."""

from __future__ import annotations

import threading


class BackgroundWorker:
    """Subclasses implement run() and leave it when `self._stopping` is set."""

    thread_name = "worker"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
