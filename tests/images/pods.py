"""The operator's pod specs, run by podman the way a kubelet would run them on one node.

The checks take the container, security context and volumes straight from the operator's
builders, so what passes here is what managed mode deploys: the image's entrypoint with the
pod's command/args, its environment (Secret references filled from a dict), its uid and group,
a read-only root, every volume mount as an empty directory owned by the pod's uid and fsGroup,
and its readiness probe run against the container.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from images.engine import HARDENED, Containers, podman


@dataclass(frozen=True)
class PodRun:
    name: str
    container: dict[str, Any]


def podman_options(
    containers: Containers,
    pod: dict[str, Any],
    container: dict[str, Any],
    secrets: dict[str, str],
    *,
    network: str = "none",
    env_overrides: dict[str, str] | None = None,
) -> list[str]:
    security = pod.get("securityContext", {})
    uid, gid = security["runAsUser"], security.get("fsGroup", security.get("runAsGroup", 0))
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    user = f"{uid}:{security.get('runAsGroup', gid)}"
    options = ["--network", network, *HARDENED, "--user", user]
    for mount in container.get("volumeMounts", []):
        if mount["mountPath"] == "/tmp":
            continue  # HARDENED has it
        options += ["--volume", f"{containers.volume(uid, gid)}:{mount['mountPath']}:rw"]
    for var in container.get("env", []):
        if "value" in var:
            value = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            value = secrets[f"{ref['name']}/{ref['key']}"]
        value = (env_overrides or {}).get(var["name"], value)
        options += ["--env", f"{var['name']}={value}"]
    if container.get("command"):
        options += ["--entrypoint", json.dumps(container["command"])]
    return options


def _pod(workload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = workload["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    pod = spec["template"]["spec"]
    return pod, pod["containers"][0]


def start_pod(
    containers: Containers, workload: dict[str, Any], image: str, secrets: dict[str, str]
) -> PodRun:
    """The first container of a StatefulSet/Deployment template, started detached."""
    pod, container = _pod(workload)
    options = podman_options(containers, pod, container, secrets)
    name = containers.run(image, *container.get("args", []), options=tuple(options))
    return PodRun(name, container)


def run_job(
    containers: Containers,
    job: dict[str, Any],
    image: str,
    secrets: dict[str, str],
    *,
    network: str,
    env_overrides: dict[str, str],
) -> subprocess.CompletedProcess:
    """A Job's container to completion in NETWORK (another container's namespace)."""
    pod, container = _pod(job)
    options = podman_options(
        containers, pod, container, secrets, network=network, env_overrides=env_overrides
    )
    return podman(
        "run", "--rm", *options, image, *container.get("args", []), check=False, timeout=180
    )


def probe_passes(containers: Containers, run: PodRun, client_image: str) -> bool:
    """The container's readiness probe, as the kubelet runs it (exec in it, or TCP/HTTP from
    its network namespace)."""
    containers.running(run.name)
    probe = run.container["readinessProbe"]
    if "exec" in probe:
        return podman("exec", run.name, *probe["exec"]["command"], check=False).returncode == 0
    if "tcpSocket" in probe:
        port = probe["tcpSocket"]["port"]
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    else:
        get = probe["httpGet"]
        url = f"http://127.0.0.1:{get['port']}{get['path']}"
        code = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=2)"
    done = containers.exec_in_netns(run.name, client_image, "-c", code, entrypoint="python3")
    return done.returncode == 0
