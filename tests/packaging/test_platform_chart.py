"""The messaging-platform chart: one MessagingPlatform (and optionally its Gateway) from values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import KUBE_VERSION, REPO, by_kind, run

PLATFORM_CHART = REPO / "charts" / "messaging-platform"


def render(helm: Path, *args: str) -> list[dict]:
    out = run(
        helm, "template", "chat", PLATFORM_CHART, "--namespace", "chat",
        "--kube-version", KUBE_VERSION, *args,
    ).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if d]


def test_platform_chart_lints(helm: Path) -> None:
    for values in sorted((PLATFORM_CHART / "ci").glob("*.yaml")):
        run(helm, "lint", PLATFORM_CHART, "--strict", "-f", values, "--kube-version", KUBE_VERSION)


def test_spec_is_passed_through_as_written(helm: Path) -> None:
    (platform,) = by_kind(render(helm), "MessagingPlatform")
    values = yaml.safe_load((PLATFORM_CHART / "values.yaml").read_text())
    assert platform["metadata"] == {
        "name": "chat",
        "namespace": "chat",
        "labels": platform["metadata"]["labels"],
    }
    assert platform["spec"] == values["spec"]
    assert not by_kind(render(helm), "Gateway")


def test_own_gateway_is_created_and_referenced(helm: Path) -> None:
    docs = render(helm, "-f", str(PLATFORM_CHART / "ci/own-gateway-values.yaml"))
    (gateway,) = by_kind(docs, "Gateway")
    (platform,) = by_kind(docs, "MessagingPlatform")
    assert gateway["spec"]["gatewayClassName"] == "example"
    assert platform["spec"]["gateway"]["gatewayRef"] == {"name": gateway["metadata"]["name"]}
    assert platform["spec"]["services"]["auth"]["canary"]["steps"] == [10, 50, 100]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gateway.create=true", "at '/gateway/className': minLength: got 0, want 1"),
        ("name=Chat_Room", "at '/name': 'Chat_Room' does not match pattern"),
        ("spec.version=null", "at '/spec': missing property 'version'"),
        ("colour=blue", "additional properties 'colour' not allowed"),
    ],
)
def test_platform_schema_refuses_bad_values(helm: Path, value: str, message: str) -> None:
    result = run(
        helm, "template", "chat", PLATFORM_CHART, "--kube-version", KUBE_VERSION, "--set", value,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0, f"--set {value} was accepted"
    assert message in result.stderr, result.stderr
