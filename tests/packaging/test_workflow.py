"""The GitHub workflow: actionlint (with shellcheck on its run: scripts) and pinned actions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .conftest import REPO, run

WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def test_actionlint_passes(actionlint: Path, shellcheck: Path) -> None:
    assert WORKFLOWS, ".github/workflows holds no workflow"
    run(actionlint, "-shellcheck", shellcheck, *WORKFLOWS)


def test_every_action_is_pinned_to_a_commit_with_its_release_named() -> None:
    for workflow in WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if "uses:" in line:
                ref = line.split("uses:", 1)[1].strip()
                assert PINNED.match(ref), f"{workflow.name}: {ref!r} is not pinned to a commit"


def test_ci_runs_lint_control_plane_kind_and_chart_testing() -> None:
    ci = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    jobs = ci["jobs"]
    assert set(jobs) == {"lint-and-unit", "control-plane", "kind", "chart-testing"}
    steps = lambda job: "\n".join(s.get("run", "") for s in jobs[job]["steps"])  # noqa: E731
    assert "make lint" in steps("lint-and-unit")
    assert "make test-unit" in steps("lint-and-unit")
    assert "bash .ci/run" in steps("control-plane")
    for command in ("hack/kind.sh up", "hack/kind.sh install", "hack/kind.sh forward", "tests/e2e"):
        assert command in steps("kind"), command
    assert "ct lint --config .github/ct.yaml" in steps("chart-testing")
    ct = yaml.safe_load((REPO / ".github/ct.yaml").read_text())
    assert ct["chart-dirs"] == ["charts"]
