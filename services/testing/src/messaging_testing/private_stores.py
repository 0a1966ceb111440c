"""Private PostgreSQL, Redis and RabbitMQ servers for tests that crash them (never the shared
ones).

They are started by hack/infra.sh itself, with its own settings (durable unless
MP_INFRA_FAST=1 is passed), on free loopback ports and under a cache folder of their own, so
killing them disturbs nobody else's tests. Needs the repository (hack/infra.sh) and the Debian
packages `make infra-up` installs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "hack" / "infra.sh").is_file():
            return parent
    raise RuntimeError("hack/infra.sh not found above messaging_kit: run from the repository")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateStores:
    """hack/infra.sh up/down for PostgreSQL, Redis and RabbitMQ under `cache`, plus ways to
    crash them."""

    def __init__(self, cache: Path, *, fast: bool = False) -> None:
        self.script = _repo_root() / "hack" / "infra.sh"
        self.pg_port = _free_port()
        self.redis_port = _free_port()
        self.amqp_port = _free_port()
        self.env = {
            **os.environ,
            "MP_CACHE": str(cache),
            "MP_PG_PORT": str(self.pg_port),
            "MP_REDIS_PORT": str(self.redis_port),
            "MP_AMQP_PORT": str(self.amqp_port),
            "MP_RMQ_DIST_PORT": str(_free_port()),
            "MP_RMQ_EPMD_PORT": str(_free_port()),
            "MP_RMQ_NODE_SUFFIX": f"-{self.amqp_port}",
        }
        self.env.pop("MP_INFRA_FAST", None)
        if fast:
            self.env["MP_INFRA_FAST"] = "1"
        self.cache = cache
        self._check_private()

    @property
    def pg_url(self) -> str:
        return f"postgresql://postgres:postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def amqp_url(self) -> str:
        return f"amqp://platform:platform@127.0.0.1:{self.amqp_port}/%2F"

    def _infra(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(self.script), *args], env=self.env, capture_output=True, text=True, timeout=180
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"hack/infra.sh {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout + result.stderr

    def _status(self) -> dict[str, list[str]]:
        out = self._infra("status", check=False)
        rows = [line.split() for line in out.splitlines()[1:] if line and not line.startswith("(")]
        return {row[0]: row for row in rows}

    def _check_private(self) -> None:
        """Refuse to go on unless the script keeps this set apart from the shared servers."""
        data = self._status().get("postgres", [""])[-1]
        if not Path(data).parent.name.startswith("messaging-platform-") and not data.startswith(
            str(self.cache)
        ):
            pytest.fail(
                f"hack/infra.sh would put a private PostgreSQL's data at {data}, beside the shared "
                "one: it needs MP_CACHE-private data folders (and MP_PG_PORT, MP_REDIS_PORT)",
                pytrace=False,
            )
        self.pg_data = Path(data)

    def up(self, *services: str) -> float:
        """Starts what is down; returns the seconds it took."""
        started = time.monotonic()
        self._infra("up", *(services or ("postgres", "redis")))
        return time.monotonic() - started

    def pid(self, service: str) -> int:
        row = self._status()[service]
        return int(row[2]) if row[2].isdigit() else 0

    def kill(self, service: str) -> None:
        """Redis, RabbitMQ: SIGKILL. PostgreSQL: an immediate stop (no checkpoint; WAL replay on
        start), as a SIGKILL of the postmaster would leave its backends holding the data."""
        if service == "postgres":
            pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl"
            argv = [pg_ctl, "stop", "-D", str(self.pg_data), "-m", "immediate", "-w", "-s"]
            if os.geteuid() == 0:
                argv = ["runuser", "-u", "postgres", "--", *argv]
            subprocess.run(argv, check=True, timeout=60)  # noqa: S603 - fixed arguments
            return
        pid = self.pid(service)
        if pid:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def down(self) -> None:
        pids = [self.pid(s) for s in ("postgres", "redis", "rabbitmq")]
        self._infra("down", "postgres", "redis", "rabbitmq", check=False)
        # A server that refused to stop (Redis while it writes its first append-only file)
        # would outlive the test: these are ours, started above.
        for pid in pids:
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                ours = any(name in command for name in (b"redis", b"postgres", b"beam"))
                if pid and ours:
                    os.kill(pid, signal.SIGKILL)
        if not self.pg_data.is_relative_to(self.cache):  # as root: outside the cache folder
            shutil.rmtree(self.pg_data.parent, ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)
