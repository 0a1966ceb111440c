"""The real control plane (`make cluster-up`) and the real operator, shared by the cluster tests.

The API server, etcd, kube-controller-manager (GC, Deployment, ReplicaSet, StatefulSet, Job
controllers) and kube-scheduler are real. Kubelets are simulated by kwok: pods are marked
Running/Ready (Job pods Succeeded) but no container ever runs, so these tests prove what the
operator asks of Kubernetes, not that the services start. PVCs are bound by the
controller-manager's hostPath provisioner (the cluster's default StorageClass).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

# Shared fixtures for the analysis tests: a real Prometheus and the metrics it scrapes.
from tests.operator.cluster.fake_metrics import fake_relay, prometheus  # noqa: F401

REPO = Path(__file__).resolve().parents[3]
HINT = "run `make cluster-up` (hack/cluster.sh up) first"
INSTANCE_LABEL = "messaging.platform.dev/operator-instance"
MUTATING = {"create", "update", "patch", "delete", "deletecollection"}


def _cluster_env() -> dict[str, str]:
    try:
        out = subprocess.run(
            [str(REPO / "hack" / "cluster.sh"), "env"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        pytest.fail(f"cannot read the cluster environment ({error}): {HINT}")
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            env[key] = os.path.expandvars(value.strip("'\"").replace("$PATH", env["PATH"]))
    return env


class Kube:
    """kubectl (the pinned v1.36 client) against the local control plane."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.audit_log = Path(env.get("MP_AUDIT_LOG", ""))
        # The test operator handles only platforms with this label, and an operator started by
        # `make up` (no instance) leaves them alone, so the two never act on the same platform.
        self.instance = f"test-{uuid.uuid4().hex[:8]}"

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True,
            env=self.env, timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, namespace: str, text: str) -> subprocess.CompletedProcess[str]:
        """kubectl apply; MessagingPlatforms get this run's operator-instance label."""
        docs = [doc for doc in yaml.safe_load_all(text) if doc]
        for doc in docs:
            if doc.get("kind") == "MessagingPlatform":
                labels = doc.setdefault("metadata", {}).setdefault("labels", {})
                labels[INSTANCE_LABEL] = self.instance
        listing = {"apiVersion": "v1", "kind": "List", "items": docs}
        return self.run("apply", "-n", namespace, "-f", "-", stdin=json.dumps(listing))

    def platform(self, namespace: str, name: str = "chat") -> dict[str, Any]:
        result: dict[str, Any] = self.json("get", "mp", name, "-n", namespace)
        return result

    def children(self, namespace: str, kinds: str, platform: str = "chat") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.json(
            "get", kinds, "-n", namespace, "-l", f"messaging.platform.dev/platform={platform}"
        )["items"]
        return items

    wait_for = staticmethod(lambda *a, **k: wait_for(*a, **k))
    now = staticmethod(lambda: utc_now())

    def ready_reason(self, namespace: str, name: str = "chat") -> str:
        """The REASON column of `kubectl get mp`, as a person would read it."""
        out = self.run("get", "mp", name, "-n", namespace, "--no-headers").stdout.split()
        return out[6] if len(out) > 6 else ""

    def audit_writes(self, namespace: str, since: str) -> list[dict[str, Any]]:
        """Mutating requests on objects in `namespace` received at or after `since` (ISO UTC):
        every one made by the operator, and every one on a non-Event object by anybody (the
        scheduler and controllers may still update their own Events about earlier steps)."""
        since_epoch = datetime.strptime(since[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        # The API server rotates its audit log (200 MB): read every file written since then.
        files = [
            path
            for path in sorted(self.audit_log.parent.glob("audit*.log"))
            if path.stat().st_mtime >= since_epoch.timestamp() - 1
        ]
        writes = []
        for path in files:
            with path.open() as log:
                for line in log:
                    if f'"namespace":"{namespace}"' not in line:
                        continue
                    event = json.loads(line)
                    ref = event.get("objectRef") or {}
                    by_operator = event.get("userAgent", "").startswith("messaging-operator/")
                    if (
                        event.get("verb") in MUTATING
                        and ref.get("namespace") == namespace
                        and event.get("requestReceivedTimestamp", "") >= since
                        and (by_operator or ref.get("resource") != "events")
                    ):
                        writes.append(event)
        return writes


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="session")
def kube() -> Kube:
    env = _cluster_env()
    client = Kube(env)
    try:
        ready = client.run("get", "--raw", "/readyz", check=False, timeout=15)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.fail(f"kubectl cannot run ({error}): {HINT}")
    if ready.returncode != 0:
        pytest.fail(f"the API server at https://127.0.0.1:16443 is not ready: {HINT}")
    client.run("apply", "--server-side", "--force-conflicts", "-f",
               str(REPO / "crds" / "messagingplatforms.yaml"),
               "-f", str(REPO / "crds" / "kopf-peering.yaml"))  # fmt: skip
    client.run("wait", "--for=condition=established", "--timeout=30s",
               "crd/messagingplatforms.messaging.platform.dev")  # fmt: skip
    return client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OperatorProcess:
    """`python -m messaging_operator` as a child process, as it runs in its container."""

    def __init__(self, kube: Kube, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.kube = kube
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"operator-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        port = _free_port()
        env = {
            **self.kube.env,
            "MESSAGING_OPERATOR_LIVENESS": f"http://127.0.0.1:{port}/healthz",
            "MESSAGING_OPERATOR_LOG_LEVEL": "INFO",
            # The safety-net pass every 5 s (300 s in production), so that the idle windows
            # of the zero-writes tests include several of them.
            "MESSAGING_OPERATOR_RESYNC_SECONDS": "5",
            "MESSAGING_OPERATOR_INSTANCE": self.kube.instance,
            **self.extra_env,
        }
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "messaging_operator"], env=env, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}/healthz"

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"operator exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_for(healthy, 60, "the operator's liveness endpoint", every=0.3)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="session")
def operator(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kube, tmp_path_factory.mktemp("operator"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def make_namespace(kube: Kube) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        name = f"mpt-{uuid.uuid4().hex[:8]}"
        kube.run("create", "namespace", name)
        created.append(name)
        return name

    yield make
    for name in created:
        kube.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def module_namespace(kube: Kube) -> Iterator[str]:
    name = f"mpt-{uuid.uuid4().hex[:8]}"
    kube.run("create", "namespace", name)
    yield name
    kube.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def minimal_sample() -> str:
    return (REPO / "manifests" / "samples" / "minimal.yaml").read_text()


@pytest.fixture
def start_operator(
    kube: Kube, tmp_path: Path
) -> Iterator[Callable[[dict[str, str]], OperatorProcess]]:
    """Start extra operator processes (e.g. peered replicas); all are stopped afterwards."""
    started: list[OperatorProcess] = []

    def start(extra_env: dict[str, str]) -> OperatorProcess:
        folder = tmp_path / f"replica-{len(started)}"
        folder.mkdir()
        process = OperatorProcess(kube, folder, extra_env)
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
