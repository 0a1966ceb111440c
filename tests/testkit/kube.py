"""kubectl against the local control plane started by `make cluster-up`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

CACHE = Path(os.environ.get("MP_CACHE", Path.home() / ".cache" / "messaging-platform"))
REPO = Path(__file__).resolve().parents[2]
KUBECONFIG = CACHE / "cluster" / "kubeconfig"


class Kubectl:
    """kubectl bound to the local cluster's admin kubeconfig; JSON in and out."""

    def __init__(self, binary: str, kubeconfig: str) -> None:
        self.base = [binary, "--kubeconfig", kubeconfig]

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [*self.base, *args], input=stdin, capture_output=True, text=True, timeout=60
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json"))

    def apply(self, manifest: dict | str, namespace: str, *extra: str) -> str:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", "--server-side", "-n", namespace, *extra, "-f", "-", stdin=text)


def kube_bin_dir() -> str:
    """The cached build of our pinned Kubernetes binaries (built on first use)."""
    return subprocess.run(
        [str(REPO / "hack/tools/build.sh"), "--path", "kube"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def eventually(check: Callable[[], object], timeout: float = 30, what: str = "") -> object:
    """Polls `check` until it returns something truthy; fails saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)
