"""kustomize: base, overlays and manifests/ build; the samples are MessagingPlatforms."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import MANIFESTS, REPO, by_kind, helm_template, kustomize

BUILDS = ["", "base", "overlays/dev", "overlays/production"]


@pytest.mark.parametrize("path", BUILDS, ids=lambda p: p or "manifests")
def test_each_kustomization_builds(kubectl: Path, path: str) -> None:
    docs = kustomize(kubectl, MANIFESTS / path)
    kinds = {d["kind"] for d in docs}
    assert {"CustomResourceDefinition", "ClusterRole", "Deployment", "ServiceAccount"} <= kinds
    crds = {d["metadata"]["name"] for d in by_kind(docs, "CustomResourceDefinition")}
    assert "messagingplatforms.messaging.platform.dev" in crds
    assert "clusterkopfpeerings.kopf.dev" in crds
    (deployment,) = by_kind(docs, "Deployment")
    assert deployment["metadata"]["namespace"] == "messaging-system"
    (binding,) = by_kind(docs, "ClusterRoleBinding")
    assert binding["subjects"][0]["namespace"] == "messaging-system"


def test_overlays_differ_where_they_should(kubectl: Path) -> None:
    dev = kustomize(kubectl, MANIFESTS / "overlays/dev")
    prod = kustomize(kubectl, MANIFESTS / "overlays/production")
    (dev_deployment,) = by_kind(dev, "Deployment")
    (prod_deployment,) = by_kind(prod, "Deployment")
    dev_container = dev_deployment["spec"]["template"]["spec"]["containers"][0]
    prod_container = prod_deployment["spec"]["template"]["spec"]["containers"][0]
    assert dev_container["image"] == "ghcr.io/acme/messaging/operator:dev"
    assert {"name": "MESSAGING_OPERATOR_LOG_LEVEL", "value": "DEBUG"} in dev_container["env"]
    assert prod_container["image"] == "ghcr.io/acme/messaging/operator:0.1.0"
    assert prod_deployment["spec"]["replicas"] == 2
    assert by_kind(prod, "PodDisruptionBudget")
    assert not by_kind(dev, "PodDisruptionBudget")


def test_base_crds_are_the_repository_crds(kubectl: Path) -> None:
    """crds/kustomization.yaml must list every CRD file, so base never misses one."""
    listed = yaml.safe_load((REPO / "crds/kustomization.yaml").read_text())["resources"]
    files = sorted(p.name for p in (REPO / "crds").glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == files
    built = by_kind(kustomize(kubectl, MANIFESTS / "base"), "CustomResourceDefinition")
    expected = [d for f in files for d in yaml.safe_load_all((REPO / "crds" / f).read_text()) if d]
    for doc in built:  # kustomize adds the common labels
        doc["metadata"].pop("labels", None)
    for doc in expected:
        doc["metadata"].pop("labels", None)
    key = lambda d: d["metadata"]["name"]  # noqa: E731
    assert sorted(built, key=key) == sorted(expected, key=key)


def samples() -> list[Path]:
    return sorted((MANIFESTS / "samples").glob("*.yaml"))


def test_samples_exist() -> None:
    names = {p.stem for p in samples()} - {"kustomization"}
    assert "minimal" in names, "NOTES.txt tells users to apply manifests/samples/minimal.yaml"
    assert len(names) >= 4, f"issue 9 asks for minimal, external, migration, canary: {names}"


@pytest.mark.parametrize("sample", samples(), ids=lambda p: p.stem)
def test_each_sample_is_a_messaging_platform(kubectl: Path, sample: Path) -> None:
    if sample.name == "kustomization.yaml":
        docs = kustomize(kubectl, sample.parent)
    else:
        docs = [d for d in yaml.safe_load_all(sample.read_text()) if d]
    platforms = by_kind(docs, "MessagingPlatform")
    assert platforms, f"{sample} holds no MessagingPlatform"
    for platform in platforms:
        assert platform["apiVersion"] == "messaging.platform.dev/v1alpha1"
        assert platform["spec"], sample


def test_base_deployment_matches_the_charts(kubectl: Path, helm: Path) -> None:
    """Two renderings of one operator Deployment: they must agree on everything but names."""
    (base,) = by_kind(kustomize(kubectl, MANIFESTS / "base"), "Deployment")
    (chart,) = by_kind(helm_template(helm), "Deployment")
    base_pod, chart_pod = base["spec"]["template"]["spec"], chart["spec"]["template"]["spec"]
    assert base_pod["securityContext"] == chart_pod["securityContext"]
    assert base_pod["volumes"] == chart_pod["volumes"]
    (base_container,) = base_pod["containers"]
    (chart_container,) = chart_pod["containers"]
    for field in ("securityContext", "resources", "ports", "volumeMounts", "startupProbe",
                  "livenessProbe", "readinessProbe"):  # fmt: skip
        assert base_container[field] == chart_container[field], field
    chart_env = {e["name"]: e for e in chart_container["env"]}
    for variable in base_container["env"]:
        assert chart_env[variable["name"]] == variable, variable["name"]
    assert base["spec"]["strategy"] == chart["spec"]["strategy"]
