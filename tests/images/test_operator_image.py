"""The operator image reconciles a platform against the local API server with nothing but the
chart's ServiceAccount: the chart's own RBAC (helm template), a token issued for that account,
mounted where a pod gets it, and no kubeconfig. If a permission were missing from the chart, or
the image could not start, the platform would never get its children and status."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from images.engine import HARDENED, Containers, require_image
from messaging_kit.testing import free_port
from testkit.kube import CACHE, KUBECONFIG, REPO, Kubectl, eventually, kube_bin_dir

pytestmark = [pytest.mark.images, pytest.mark.cluster]

INSTANCE_LABEL = "messaging.platform.dev/operator-instance"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def helm() -> str:
    out = subprocess.run(
        [str(REPO / "hack/tools/build.sh"), "--path", "helm"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return f"{out.stdout.strip()}/helm"


def api_port() -> str:
    server = yaml.safe_load(KUBECONFIG.read_text())["clusters"][0]["cluster"]["server"]
    return server.rsplit(":", 1)[1]


@pytest.fixture
def kubectl() -> Kubectl:
    if not KUBECONFIG.exists():
        pytest.fail(f"no {KUBECONFIG}: run `make cluster-up`", pytrace=False)
    kube = Kubectl(f"{kube_bin_dir()}/kubectl", str(KUBECONFIG))
    crd = REPO / "crds/messagingplatforms.yaml"
    kube.run("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    return kube


def test_operator_image_reconciles_with_the_charts_service_account(
    kubectl: Kubectl, containers: Containers, tmp_path: Path
) -> None:
    image = require_image("operator")
    run_id = uuid.uuid4().hex[:8]
    system, team = f"mpi-op-{run_id}", f"mpi-team-{run_id}"
    release = f"mp-{run_id}"
    kubectl.run("create", "namespace", system)
    kubectl.run("create", "namespace", team)
    rendered = subprocess.run(
        [helm(), "template", release, str(REPO / "charts/messaging-operator"),
         "--namespace", system, "--set", "leaderElection.enabled=false"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rbac = [
        doc
        for doc in yaml.safe_load_all(rendered)
        if doc and doc["kind"] in {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    ]
    assert {d["kind"] for d in rbac} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    account = next(d for d in rbac if d["kind"] == "ServiceAccount")["metadata"]["name"]
    try:
        kubectl.apply({"apiVersion": "v1", "kind": "List", "items": rbac}, system)
        token = kubectl.run("create", "token", account, "-n", system, "--duration", "1h").strip()
        secrets = tmp_path / "serviceaccount"
        secrets.mkdir()
        (secrets / "token").write_text(token)
        (secrets / "namespace").write_text(system)
        (secrets / "ca.crt").write_bytes((CACHE / "cluster" / "pki" / "ca.crt").read_bytes())
        for path in (secrets, *secrets.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        health = free_port()
        name = containers.run(
            image,
            options=(
                "--network", "host", *HARDENED, "--volume", f"{secrets}:{TOKEN_DIR}:ro",
                "--env", "KUBERNETES_SERVICE_HOST=127.0.0.1",
                "--env", f"KUBERNETES_SERVICE_PORT={api_port()}",
                "--env", f"MESSAGING_OPERATOR_INSTANCE={run_id}",
                "--env", f"MESSAGING_OPERATOR_LIVENESS=http://127.0.0.1:{health}/healthz",
                "--env", f"POD_NAMESPACE={system}", "--env", f"POD_NAME={release}-0",
            ),
        )  # fmt: skip

        def healthy() -> bool:
            containers.running(name)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=1):
                    return True
            except OSError:
                return False

        eventually(healthy, 90, "the operator container's liveness endpoint")
        sample = next(
            d
            for d in yaml.safe_load_all((REPO / "manifests/samples/minimal.yaml").read_text())
            if d and d.get("kind") == "MessagingPlatform"
        )
        sample["metadata"]["labels"] = {INSTANCE_LABEL: run_id}
        kubectl.apply(sample, team)
        platform = sample["metadata"]["name"]

        def reconciled() -> bool:
            body = json.loads(
                kubectl.run("get", "messagingplatform", platform, "-n", team, "-o", "json")
            )
            deployments = kubectl.run("get", "deployments", "-n", team, "-o", "name")
            return bool(body.get("status", {}).get("phase")) and f"{platform}-auth" in deployments

        try:
            eventually(reconciled, 120, "the platform's status and Deployments from the image")
        except AssertionError as error:
            raise AssertionError(f"{error}\noperator log:\n{containers.logs(name)}") from None
        logs = containers.logs(name)
        assert "Forbidden" not in logs, logs
    finally:
        kubectl.run("delete", "namespace", team, "--wait=false", check=False)
        kubectl.run("delete", "namespace", system, "--wait=false", check=False)
        for doc in rbac:
            if doc["kind"] != "ServiceAccount":
                kubectl.run("delete", doc["kind"], doc["metadata"]["name"], check=False)
