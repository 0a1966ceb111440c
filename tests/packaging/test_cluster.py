"""The packaging against the local control plane (`make cluster-up`): the API server accepts the
chart, the overlays and the samples; helm installs and upgrades the chart; and the real operator,
logged in with the chart's ServiceAccount token (not admin), reconciles the sample to Ready.
A permission missing from the chart's ClusterRole fails here, not in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CHART, KUBE_VERSION, MANIFESTS, REPO, run

pytestmark = pytest.mark.cluster

HINT = "run `make cluster-up` (hack/cluster.sh up) first"
CACHE = Path(os.environ.get("MP_CACHE", Path.home() / ".cache" / "messaging-platform"))
ADMIN_KUBECONFIG = CACHE / "cluster" / "kubeconfig"
PV_LABEL = "messaging-packaging-test"
AUDIT_LOG = Path(os.environ.get("MP_AUDIT_LOG", CACHE / "cluster" / "logs" / "audit.log"))


class Cluster:
    def __init__(self, kubectl: Path, helm: Path) -> None:
        self.kubectl_bin = kubectl
        self.helm_bin = helm
        self.env = {**os.environ, "KUBECONFIG": str(ADMIN_KUBECONFIG)}

    def kubectl(
        self, *args: str | Path, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run(self.kubectl_bin, *args, input=stdin, env=self.env, check=check, timeout=120)

    def helm(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(self.helm_bin, *args, env=self.env, check=check, timeout=600)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def cluster(kubectl: Path, helm: Path) -> Cluster:
    if not ADMIN_KUBECONFIG.exists():
        pytest.fail(f"no kubeconfig at {ADMIN_KUBECONFIG}: {HINT}")
    cluster = Cluster(kubectl, helm)
    ready = cluster.kubectl("get", "--raw", "/readyz", check=False)
    if ready.returncode != 0:
        pytest.fail(f"the API server at https://127.0.0.1:16443 is not ready: {HINT}")
    # The CRDs as the chart and the base ship them (crds/): needed before their objects dry-run.
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts",
        "-f", REPO / "crds/messagingplatforms.yaml", "-f", REPO / "crds/kopf-peering.yaml",
    )  # fmt: skip
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                    "crd/messagingplatforms.messaging.platform.dev",
                    "crd/clusterkopfpeerings.kopf.dev")  # fmt: skip
    return cluster


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"pkg-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.parametrize("values", ["default", "ha", "standalone"])
def test_the_api_server_accepts_the_chart(cluster: Cluster, namespace: str, values: str) -> None:
    rendered = cluster.helm(
        "template", "mp", CHART, "--namespace", namespace, "--include-crds",
        "--kube-version", KUBE_VERSION,
        "-f", CHART / "ci" / f"{values}-values.yaml",
        "--set", f"leaderElection.peeringName={namespace}",
    ).stdout  # fmt: skip
    result = cluster.kubectl(
        "apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f", "-",
        stdin=rendered,
    )  # fmt: skip
    assert "serverside-applied (server dry run)" in result.stdout


@pytest.mark.parametrize("values", ["default", "own-gateway"])
def test_the_api_server_accepts_the_platform_chart(
    cluster: Cluster, namespace: str, values: str
) -> None:
    chart = REPO / "charts/messaging-platform"
    rendered = cluster.helm(
        "template", "chat", chart, "--namespace", namespace, "--kube-version", KUBE_VERSION,
        "-f", chart / "ci" / f"{values}-values.yaml",
    ).stdout  # fmt: skip
    result = cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=rendered)
    assert "messagingplatform.messaging.platform.dev/chat created (server dry run)" in result.stdout


@pytest.mark.parametrize("overlay", ["overlays/dev", "overlays/production"])
def test_the_api_server_accepts_the_overlays(cluster: Cluster, overlay: str) -> None:
    # A dry-run Namespace is never created, so its objects could not dry-run inside it.
    cluster.kubectl("create", "namespace", "messaging-system", check=False)
    built = cluster.kubectl("kustomize", MANIFESTS / overlay).stdout
    result = cluster.kubectl(
        "apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f", "-", stdin=built
    )
    assert "deployment.apps/messaging-operator serverside-applied (server dry run)" in result.stdout


def sample_files() -> list[Path]:
    return sorted(
        p for p in (MANIFESTS / "samples").glob("*.yaml") if p.name != "kustomization.yaml"
    )


@pytest.mark.parametrize("sample", sample_files(), ids=lambda p: p.stem)
def test_the_api_server_accepts_each_sample(cluster: Cluster, namespace: str, sample: Path) -> None:
    result = cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", sample)
    assert "messagingplatform.messaging.platform.dev/" in result.stdout


@pytest.fixture(scope="module")
def release(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """The chart installed by helm into its own namespace; (release, namespace)."""
    name = f"pkg-{uuid.uuid4().hex[:8]}"
    cluster.helm(
        "install", name, CHART, "--namespace", name, "--create-namespace",
        "--set", f"leaderElection.peeringName={name}", "--wait", "--timeout", "3m",
    )  # fmt: skip
    yield name, name
    cluster.helm("uninstall", name, "--namespace", name, "--wait", check=False)
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_helm_install_then_upgrade(cluster: Cluster, release: tuple[str, str]) -> None:
    name, namespace = release
    fullname = f"{name}-messaging-operator"
    deployment = cluster.json("get", "deployment", fullname, "-n", namespace)
    assert deployment["status"].get("availableReplicas") == 1
    cluster.json("get", "clusterrole", fullname)
    cluster.json("get", "clusterkopfpeering", name)
    cluster.helm(
        "upgrade", name, CHART, "--namespace", namespace, "--reuse-values",
        "--set", "replicaCount=2", "--wait", "--timeout", "3m",
    )  # fmt: skip
    deployment = cluster.json("get", "deployment", fullname, "-n", namespace)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["status"].get("availableReplicas") == 2
    cluster.json("get", "poddisruptionbudget", fullname, "-n", namespace)
    history = json.loads(cluster.helm("history", name, "-n", namespace, "-o", "json").stdout)
    assert [h["status"] for h in history] == ["superseded", "deployed"]
    cluster.helm(
        "upgrade", name, CHART, "--namespace", namespace, "--reuse-values",
        "--set", "replicaCount=1", "--wait", "--timeout", "3m",
    )  # fmt: skip


def service_account_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that logs in as the chart's ServiceAccount with a short-lived token."""
    token = cluster.kubectl(
        "create", "token", account, "-n", namespace, "--duration", "1h"
    ).stdout.strip()
    admin = yaml.safe_load(ADMIN_KUBECONFIG.read_text())
    server = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": server}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": account}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def bind_claims(cluster: Cluster, namespace: str) -> None:
    """kwok has no storage provisioner: pre-bind a hostPath PV to each claim of the namespace,
    or the StatefulSets' pods never schedule."""
    for claim in cluster.json("get", "pvc", "-n", namespace)["items"]:
        if claim["spec"].get("volumeName"):
            continue
        name = f"{namespace}-{claim['metadata']['name']}"[:63]
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": {PV_LABEL: namespace}},
            "spec": {
                "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/tmp/kwok-volumes/{name}"},
                "claimRef": {
                    "namespace": namespace,
                    "name": claim["metadata"]["name"],
                    "uid": claim["metadata"]["uid"],
                },
            },
        }
        cluster.kubectl("create", "-f", "-", stdin=json.dumps(volume), check=False)


def audit_events(since: str, user: str | None = None) -> list[dict[str, Any]]:
    """The API server's audit records received at or after `since` (ISO UTC), of `user` if given."""
    if not AUDIT_LOG.exists():
        pytest.fail(f"no audit log at {AUDIT_LOG}: {HINT}")
    needle = f'"username":"{user}"' if user else '"stage":"ResponseComplete"'
    events = []
    with AUDIT_LOG.open() as log:
        for line in log:
            if needle in line:
                event = json.loads(line)
                if event.get("stage") == "ResponseComplete" and (
                    event.get("requestReceivedTimestamp", "") >= since
                ):
                    events.append(event)
    return events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_operator_with_the_charts_service_account_reconciles_the_sample_to_ready(
    cluster: Cluster, release: tuple[str, str], namespace: str, tmp_path: Path
) -> None:
    name, release_namespace = release
    account = f"{name}-messaging-operator"
    kubeconfig = service_account_kubeconfig(cluster, release_namespace, account, tmp_path / "sa")
    whoami = run(cluster.kubectl_bin, "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json")
    identity = json.loads(whoami.stdout)["status"]["userInfo"]["username"]
    assert identity == f"system:serviceaccount:{release_namespace}:{account}"

    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    port = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        # As the chart's Deployment sets them (templates/deployment.yaml).
        "MESSAGING_OPERATOR_PEERING": name,
        "MESSAGING_OPERATOR_LIVENESS": f"http://127.0.0.1:{port}/healthz",
        "MESSAGING_OPERATOR_LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "operator.log"
    script = Path(sys.executable).parent / "messaging-operator"
    with log_path.open("wb") as log:
        operator = subprocess.Popen([script], env=env, stdout=log, stderr=subprocess.STDOUT)
    stop = threading.Event()

    def binder() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                bind_claims(cluster, namespace)
            stop.wait(1)

    thread = threading.Thread(target=binder, daemon=True)
    try:

        def healthy() -> bool:
            if operator.poll() is not None:
                raise AssertionError(f"operator exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        wait_for(healthy, 60, "the operator's liveness endpoint")
        thread.start()
        cluster.kubectl("apply", "-n", namespace, "-f", MANIFESTS / "samples/minimal.yaml")

        def ready() -> Any:
            platform = cluster.json("get", "messagingplatform", "chat", "-n", namespace)
            status = platform.get("status") or {}
            generation = platform["metadata"]["generation"]
            if status.get("phase") == "Ready" and status.get("observedGeneration") == generation:
                return status
            return None

        try:
            wait_for(ready, 240, "the sample MessagingPlatform to become Ready", every=1)
        except AssertionError as error:
            platform = cluster.json("get", "messagingplatform", "chat", "-n", namespace)
            raise AssertionError(
                f"{error}\nconditions: {platform.get('status', {}).get('conditions')}\n"
                f"operator log (tail):\n{log_path.read_text()[-4000:]}"
            ) from error
        # The peering object carries this operator's keep-alive: leader election really ran.
        peering = cluster.json("get", "clusterkopfpeering", name)
        assert peering.get("status"), "no keep-alive in the ClusterKopfPeering"
    finally:
        stop.set()
        operator.terminate()
        try:
            operator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            operator.kill()
        if thread.is_alive():
            thread.join(timeout=10)
        cluster.kubectl(
            "delete", "pv", "-l", f"{PV_LABEL}={namespace}", "--wait=false", check=False
        )
    # The API server's audit log (it records writes, hack/cluster/audit-policy.yaml): no write of
    # this ServiceAccount was refused by the authorizer...
    user = f"system:serviceaccount:{release_namespace}:{account}"
    refused = [
        f"{e['verb']} {e['objectRef'].get('resource')}/{e['objectRef'].get('subresource', '')}"
        f" in {e['objectRef'].get('namespace', '(cluster)')}"
        for e in audit_events(started, user=user)
        if e.get("annotations", {}).get("authorization.k8s.io/decision") == "forbid"
    ]
    assert not refused, "the chart's RBAC refused the operator:\n" + "\n".join(sorted(set(refused)))
    # ...and every write that made the sample Ready is one the ServiceAccount may make. (Another
    # suite's operator may run beside this one in the same session and win the race to apply an
    # object; whoever applied it, the chart's role must allow it.)
    writes = {
        (e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("subresource"))
        for e in audit_events(started)
        if e["objectRef"].get("namespace") == namespace
        and e.get("userAgent", "").startswith("messaging-operator")
    }
    assert ("patch", "messagingplatforms", "status") in writes, sorted(map(str, writes))
    assert ("patch", "deployments", None) in writes, sorted(map(str, writes))
    for verb, resource, subresource in sorted(writes, key=str):
        extra = [f"--subresource={subresource}"] if subresource else []
        answer = cluster.kubectl(
            "auth", "can-i", verb, resource, *extra, "-n", namespace, "--as", user, check=False
        ).stdout.strip()
        assert answer == "yes", f"the chart's role does not allow {verb} {resource} {extra}"
    # RBAC denials name the user and what it "cannot" do; kopf says "Not enough permissions".
    # (Other 403s, such as writes into a namespace being deleted by another suite, are not RBAC.)
    forbidden = [
        line for line in log_path.read_text().splitlines()
        if ('system:serviceaccount:' in line and ' cannot ' in line)
        or "not enough permissions" in line.lower()
    ]  # fmt: skip
    assert not forbidden, "the chart's RBAC refused the operator:\n" + "\n".join(forbidden[:20])


def test_token_kubeconfig_is_not_admin(
    cluster: Cluster, release: tuple[str, str], tmp_path: Path
) -> None:
    """The same token must be refused what the ClusterRole does not grant."""
    name, namespace = release
    account = f"{name}-messaging-operator"
    kubeconfig = service_account_kubeconfig(cluster, namespace, account, tmp_path / "sa")
    for verb, resource in [("delete", "secrets"), ("create", "clusterroles"), ("get", "nodes"),
                           ("patch", "messagingplatforms"), ("delete", "jobs")]:  # fmt: skip
        answer = run(
            cluster.kubectl_bin, "--kubeconfig", kubeconfig, "auth", "can-i", verb, resource,
            "--all-namespaces", check=False,
        )  # fmt: skip
        assert answer.stdout.strip() == "no", f"the operator may {verb} {resource}"
