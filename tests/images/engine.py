"""Helpers that run the images `make images` built as real containers (podman, with this
project's engine settings), so a broken image fails here: a missing library, a write to the
read-only root, a root user, a console script that does not start.

Two network shapes, both made by podman for the container alone:
- `--network none`: the container's own namespace with only loopback; a client runs in a second
  container joined to that namespace (`--network container:ID`). Used for the infrastructure
  images, the web client and the legacy stand-in: nothing is published on the host.
- `--network host`: the service and operator images reach the host's loopback servers (the
  infrastructure of `make infra-up`, the local API server), as a process of `make up` would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from testkit.kube import REPO

ENGINE_ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "hack/images/containers.conf")}
# What the operator gives every pod: a read-only root, scratch only at /tmp.
HARDENED = ["--read-only", "--tmpfs", "/tmp:rw,size=64m,mode=1777", "--cap-drop", "ALL"]
HARDENED += ["--security-opt", "no-new-privileges"]


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=ENGINE_ENV, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done


def image_ref(name: str) -> str:
    out = subprocess.run(
        [str(REPO / "hack/images.sh"), "list", name], capture_output=True, text=True, check=True
    ).stdout
    return out.strip()


def require_image(name: str) -> str:
    """The reference of a built image; fails (never skips) with the way to build it."""
    ref = image_ref(name)
    if podman("image", "exists", ref, check=False).returncode != 0:
        pytest.fail(f"image {ref} is not built: run `make images`", pytrace=False)
    return ref


@dataclass
class Containers:
    """Containers started by one test, removed (with their logs kept in the failure) after it."""

    started: list[str] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)

    def volume(self, uid: int, gid: int) -> Path:
        """An empty directory owned by uid:gid, as a fresh PersistentVolume or emptyDir is."""
        path = Path(tempfile.mkdtemp(prefix="mp-images-"))
        os.chown(path, uid, gid)
        path.chmod(0o770)
        self.directories.append(path)
        return path

    def run(self, image: str, *args: str, options: tuple[str, ...] = ()) -> str:
        name = f"mp-test-{uuid.uuid4().hex[:10]}"
        podman("run", "--detach", "--name", name, *options, image, *args)
        self.started.append(name)
        return name

    def logs(self, name: str) -> str:
        done = podman("logs", name, check=False)
        return (done.stdout + done.stderr)[-4000:]

    def running(self, name: str) -> bool:
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        if not state["Running"]:
            raise AssertionError(
                f"container {name} exited with {state['ExitCode']}:\n{self.logs(name)}"
            )
        return True

    def exec_in_netns(
        self, name: str, image: str, *command: str, entrypoint: str, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """COMMAND in a fresh container of IMAGE that shares NAME's network namespace only."""
        return podman(
            "run", "--rm", "--network", f"container:{name}", *HARDENED,
            "--entrypoint", entrypoint, image, *command,
            check=False, timeout=timeout,
        )  # fmt: skip

    def remove_all(self) -> None:
        for name in self.started:
            podman("rm", "--force", "--time", "5", name, check=False)
        self.started.clear()
        for path in self.directories:
            shutil.rmtree(path, ignore_errors=True)


def image_config(ref: str) -> dict:
    return json.loads(podman("image", "inspect", ref).stdout)[0]
