"""The local control plane (`make cluster-up`) as the benchmarks see it: kubectl for writes (the
baseline's own tool), a small HTTPS client for the frequent reads, the API server's /metrics,
the audit log, and a separate client identity for the benchmark's operator so that its writes
can be told apart from any other operator's in the audit log."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from common import REPO, cache_dir

API = "https://127.0.0.1:16443"
BENCH_USER = "messaging-operator-bench"
WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION")
AUDIT_WRITES = {"create", "update", "patch", "delete", "deletecollection"}
PATHS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    "HTTPRoute": "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes",
}
PLATFORMS = "/apis/messaging.platform.dev/v1alpha1/messagingplatforms"
# Metadata only: the poll loops must not cost the API server more than they measure.
META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
META = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


class Cluster:
    def __init__(self, workdir: Path) -> None:
        self.dir = cache_dir() / "cluster"
        self.pki = self.dir / "pki"
        self.env = self._kubectl_env()
        self.audit_log = Path(self.env.get("MP_AUDIT_LOG", str(self.dir / "logs" / "audit.log")))
        self.ssl = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        self.ssl.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        self.workdir = workdir
        self.bench_kubeconfig = self._bench_identity()

    def _kubectl_env(self) -> dict[str, str]:
        out = subprocess.run(
            [str(REPO / "hack" / "cluster.sh"), "env"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        env = dict(os.environ)
        for line in out.splitlines():
            if line.startswith("export ") and "=" in line:
                key, value = line[len("export ") :].split("=", 1)
                env[key] = os.path.expandvars(value.strip("'\"").replace("$PATH", env["PATH"]))
        return env

    def _bench_identity(self) -> Path:
        """A client certificate (same CA, system:masters) named after the bench operator."""
        folder = self.workdir / "identity"
        folder.mkdir(parents=True, exist_ok=True)
        key, crt = folder / "bench.key", folder / "bench.crt"
        if not crt.exists():
            csr = folder / "bench.csr"
            run = ["openssl"]
            subprocess.run(
                [*run, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [
                    *run,
                    "req",
                    "-new",
                    "-key",
                    str(key),
                    "-subj",
                    f"/O=system:masters/CN={BENCH_USER}",
                    "-out",
                    str(csr),
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [
                    *run,
                    "x509",
                    "-req",
                    "-in",
                    str(csr),
                    "-CA",
                    str(self.pki / "ca.crt"),
                    "-CAkey",
                    str(self.pki / "ca.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-out",
                    str(crt),
                ],
                check=True,
                capture_output=True,
            )
        config = folder / "kubeconfig"
        config.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "local",
                            "cluster": {
                                "server": API,
                                "certificate-authority": str(self.pki / "ca.crt"),
                            },
                        }
                    ],
                    "users": [
                        {
                            "name": BENCH_USER,
                            "user": {"client-certificate": str(crt), "client-key": str(key)},
                        }
                    ],
                    "contexts": [
                        {"name": "local", "context": {"cluster": "local", "user": BENCH_USER}}
                    ],
                    "current-context": "local",
                }
            )
        )
        return config

    # --- kubectl ---------------------------------------------------------------------------
    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["kubectl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()}")
        return done

    # --- reads -----------------------------------------------------------------------------
    def get(self, path: str, accept: str = "application/json", timeout: float = 10) -> Any:
        request = urllib.request.Request(API + path, headers={"Accept": accept})  # noqa: S310
        try:
            # API is our constant https:// address of the local API server.
            with urllib.request.urlopen(  # noqa: S310
                request, context=self.ssl, timeout=timeout
            ) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def names(self, kind: str, namespace: str, selector: str) -> set[tuple[str, str]]:
        path = (
            PATHS[kind].format(ns=namespace)
            + "?"
            + urllib.parse.urlencode({"labelSelector": selector})
        )
        items = (self.get(path, accept=META_LIST) or {}).get("items") or []
        return {(kind, item["metadata"]["name"]) for item in items}

    def uid(self, kind: str, namespace: str, name: str) -> str | None:
        obj = self.get(PATHS[kind].format(ns=namespace) + f"/{name}", accept=META)
        return None if obj is None else obj["metadata"]["uid"]

    def platforms(self) -> list[dict[str, Any]]:
        return (self.get(PLATFORMS) or {}).get("items") or []

    def metrics_writes(self) -> Counter[tuple[str, str]]:
        """apiserver_request_total of write verbs, by (verb, resource), summed over the rest."""
        request = urllib.request.Request(API + "/metrics")  # noqa: S310
        with urllib.request.urlopen(request, context=self.ssl, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
        counts: Counter[tuple[str, str]] = Counter()
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels_text, value = line[len("apiserver_request_total{") :].rsplit("} ", 1)
            labels = dict(
                part.split("=", 1)
                for part in labels_text.replace('"', "").split(",")
                if "=" in part
            )
            if labels.get("verb") in WRITE_VERBS:
                resource = labels.get("resource", "")
                if labels.get("subresource"):
                    resource += "/" + labels["subresource"]
                counts[(labels["verb"], resource)] += int(float(value))
        return counts

    def audit_offset(self) -> int:
        try:
            return self.audit_log.stat().st_size
        except OSError:
            return 0

    def audit_writes(self, offset: int, namespace_prefix: str) -> Counter[str]:
        """Writes recorded since `offset` on objects in namespaces with the prefix, by writer:
        an operator by its user agent (it names its pid), anyone else by user name."""
        users: Counter[str] = Counter()
        try:
            with self.audit_log.open("rb") as log:
                log.seek(offset)
                for raw in log:
                    if namespace_prefix.encode() not in raw:
                        continue
                    event = json.loads(raw)
                    ref = event.get("objectRef") or {}
                    if event.get("verb") in AUDIT_WRITES and (
                        ref.get("namespace") or ""
                    ).startswith(namespace_prefix):
                        agent = event.get("userAgent") or ""
                        user = (event.get("user") or {}).get("username", "?")
                        users[agent if agent.startswith("messaging-operator") else user] += 1
        except OSError:
            pass
        return users


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
