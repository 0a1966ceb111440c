"""The upstream Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance, the release
whose CRDs the cluster runs) against the local gateway, Envoy Gateway's class `eg`: its core
tests of the GATEWAY-HTTP profile (HTTPRoute matching, weights, ReferenceGrant, listeners,
status) must all pass. hack/gateway.sh conformance runs it; its backends run on the real node.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from testkit.kube import CACHE, REPO, Kubectl

# About 2 minutes with the suite compiled (.ci/run compiles it first: hack/gateway.sh
# conformance-build); the margin covers a compile from a cold Go build cache.
pytestmark = [pytest.mark.node, pytest.mark.timeout(900)]

CORE_FEATURES = "Gateway,HTTPRoute,ReferenceGrant"
REPORT = CACHE / "gateway/conformance-report.yaml"


def test_the_core_http_conformance_tests_pass_against_envoy_gateway(platform: Kubectl) -> None:
    REPORT.unlink(missing_ok=True)
    run = subprocess.run(
        [
            str(REPO / "hack/gateway.sh"), "conformance",
            "--conformance-profiles=GATEWAY-HTTP", f"--supported-features={CORE_FEATURES}",
        ],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    failed = [line.strip() for line in output.splitlines() if line.strip().startswith("--- FAIL")]
    assert run.returncode == 0, f"the suite failed: {failed or output[-3000:]}"
    report = yaml.safe_load(REPORT.read_text())
    (profile,) = [p for p in report["profiles"] if p["name"] == "GATEWAY-HTTP"]
    core = profile["core"]
    print(f"Gateway API {report['gatewayAPIVersion']} conformance, GATEWAY-HTTP core: {core}")
    assert core["result"] == "success", core
    assert core["statistics"]["Failed"] == 0, core
    assert core["statistics"]["Passed"] >= 30, core
    passed = {line.split()[2] for line in output.splitlines() if line.startswith("    --- PASS")}
    assert "TestConformance/HTTPRouteWeight" in passed, sorted(passed)
