"""The operator chart: lint, renders, schema, CRDs from crds/, secure defaults, NOTES."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import CHART, KUBE_VERSION, REPO, by_kind, helm_template, run, venv_tool

CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
MONITORING_APIS = (
    "-a",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "-a",
    "monitoring.coreos.com/v1/PrometheusRule",
)


def operator_container(docs: list[dict]) -> dict:
    (deployment,) = by_kind(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_chart_lints_strictly(helm: Path) -> None:
    for values in CI_VALUES:
        result = run(helm, "lint", CHART, "--strict", "-f", values, "--kube-version", KUBE_VERSION)
        assert "0 chart(s) failed" in result.stdout, result.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_chart_renders_each_ci_values_file(helm: Path, values: Path) -> None:
    docs = helm_template(helm, "-f", str(values), *MONITORING_APIS)
    kinds = {d["kind"] for d in docs}
    assert {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"} <= kinds
    for doc in docs:
        if doc["kind"] not in {"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"}:
            assert doc["metadata"]["namespace"] == "messaging-system", doc["metadata"]


def test_deployment_is_locked_down_and_probed(helm: Path) -> None:
    docs = helm_template(helm)
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = operator_container(docs)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert env_of(container)["MESSAGING_OPERATOR_LIVENESS"] == "http://0.0.0.0:8080/healthz"
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    # The read-only root needs a writable /tmp.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["image"] == "ghcr.io/acme/messaging/operator:0.1.0"


def test_leader_election_peers_with_distinct_priorities(helm: Path) -> None:
    docs = helm_template(helm, "--set", "replicaCount=2")
    env = env_of(operator_container(docs))
    assert env["MESSAGING_OPERATOR_PEERING"] == "messaging-operator"
    # kopf pauses all replicas that share a priority: no fixed priority, each pod draws its own.
    assert "MESSAGING_OPERATOR_PRIORITY" not in env
    (peering,) = by_kind(docs, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == "messaging-operator"
    (budget,) = by_kind(docs, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1


def test_standalone_mode_never_overlaps_two_pods(helm: Path) -> None:
    docs = helm_template(helm, "-f", str(CHART / "ci/standalone-values.yaml"))
    assert "MESSAGING_OPERATOR_PEERING" not in env_of(operator_container(docs))
    (deployment,) = by_kind(docs, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not by_kind(docs, "ClusterKopfPeering")


def test_image_digest_wins_over_tag(helm: Path) -> None:
    digest = "sha256:" + "ab" * 32
    docs = helm_template(helm, "--set", f"image.digest={digest}", "--set", "image.tag=9.9.9")
    assert operator_container(docs)["image"] == f"ghcr.io/acme/messaging/operator@{digest}"


def test_monitoring_objects_render_only_where_their_crds_exist(helm: Path) -> None:
    values = (
        "--set",
        "monitoring.serviceMonitor.enabled=true",
        "--set",
        "monitoring.prometheusRule.enabled=true",
    )
    without = helm_template(helm, *values)
    assert not by_kind(without, "ServiceMonitor")
    assert not by_kind(without, "PrometheusRule")
    with_crds = helm_template(helm, *values, *MONITORING_APIS)
    (monitor,) = by_kind(with_crds, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    (rule,) = by_kind(with_crds, "PrometheusRule")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert alerts == {"MessagingOperatorDown", "MessagingOperatorRestarting"}


BAD_VALUES = [
    ("image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of"),
    ("replicaCount=two", "at '/replicaCount': got string, want integer"),
    ("replicaCount=-1", "at '/replicaCount': minimum: got -1, want 0"),
    ("leaderElection.enabled=false,replicaCount=2", "at '/replicaCount': maximum: got 2, want 1"),
    ("replicaz=1", "additional properties 'replicaz' not allowed"),
    ("image.digest=sha256:abc", "at '/image/digest': 'sha256:abc' does not match pattern"),
    ("healthPort=80", "at '/healthPort': minimum: got 80, want 1,024"),
    ("resources.requests.memory=lots", "at '/resources/requests/memory': 'lots' does not match"),
    ("logLevel=loud", "at '/logLevel': value must be one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'"),
    ("leaderElection.peeringName=Not_A_Name", "at '/leaderElection/peeringName'"),
]


@pytest.mark.parametrize(("value", "message"), BAD_VALUES, ids=[v for v, _ in BAD_VALUES])
def test_schema_refuses_bad_values_with_the_path_and_reason(
    helm: Path, value: str, message: str
) -> None:
    result = run(
        helm,
        "template",
        "mp",
        CHART,
        "--kube-version",
        KUBE_VERSION,
        "--set",
        value,
        check=False,
    )
    assert result.returncode != 0, f"--set {value} was accepted"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def crd_files() -> list[Path]:
    return sorted(p for p in (REPO / "crds").glob("*.yaml") if p.name != "kustomization.yaml")


def test_chart_crds_are_links_to_the_one_source() -> None:
    sources = crd_files()
    assert sources, "crds/ holds no CRD yet (the operator's crds/messagingplatforms.yaml)"
    for source in sources:
        link = CHART / "crds" / source.name
        assert link.is_symlink(), f"{link} must be a link to {source}, not a copy"
        assert link.resolve() == source.resolve()
    linked = {p.name for p in (CHART / "crds").iterdir()}
    assert linked == {p.name for p in sources}


def test_rendered_crds_equal_the_repository_crds(helm: Path) -> None:
    rendered = by_kind(helm_template(helm, "--include-crds"), "CustomResourceDefinition")
    expected = [doc for path in crd_files() for doc in yaml.safe_load_all(path.read_text()) if doc]
    key = lambda d: d["metadata"]["name"]  # noqa: E731
    assert sorted(rendered, key=key) == sorted(expected, key=key)


def test_chart_rbac_is_the_kustomize_base_clusterrole(helm: Path) -> None:
    (role,) = by_kind(helm_template(helm), "ClusterRole")
    base = yaml.safe_load((REPO / "manifests/base/clusterrole.yaml").read_text())
    assert role["rules"] == base["rules"]
    (binding,) = by_kind(helm_template(helm), "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "mp-messaging-operator", "namespace": "messaging-system"}
    ]


def test_notes_say_what_to_apply_next(helm: Path, tmp_path: Path) -> None:
    # helm renders NOTES.txt only on install; a copy of the chart renders the same text into a
    # ConfigMap so that `helm template` (no cluster needed) shows it.
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes_text = (chart / "templates/NOTES.txt").read_text()
    (chart / "templates/NOTES.txt").unlink()
    (chart / "templates/_notes.tpl").write_text(
        '{{- define "test.notes" -}}\n' + notes_text + "\n{{- end -}}\n"
    )
    (chart / "templates/notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data:\n  notes: |\n{{ include "test.notes" . | indent 4 }}\n'
    )
    out = run(
        helm,
        "template",
        "mp",
        chart,
        "--namespace",
        "messaging-system",
        "--kube-version",
        KUBE_VERSION,
        "--show-only",
        "templates/notes.yaml",
    ).stdout
    notes = yaml.safe_load(out)["data"]["notes"]
    assert "kubectl -n chat apply -f manifests/samples/minimal.yaml" in notes
    assert "rollout status deployment/mp-messaging-operator" in notes
    assert "kubectl apply --server-side -f crds/" in notes


def test_chart_files_pass_yamllint_as_ct_lint_runs_it() -> None:
    """ct lint yamllints Chart.yaml and the values files with .github/lintconf.yaml."""
    yamllint = venv_tool("yamllint")
    # charts/ also holds non-chart folders (dashboards/): a chart is a folder with a Chart.yaml.
    charts = sorted(p.parent for p in (REPO / "charts").glob("*/Chart.yaml"))
    assert len(charts) >= 2, charts
    files = [
        path
        for chart in charts
        for path in [chart / "Chart.yaml", chart / "values.yaml", *sorted(chart.glob("ci/*.yaml"))]
    ]
    run(yamllint, "--strict", "-c", REPO / ".github/lintconf.yaml", *files)
