"""Operator benchmarks against the local control plane (real kube-apiserver, kwok nodes).

create  time from `kubectl apply` of a MessagingPlatform to all of its children existing, against
        `kubectl apply --server-side` of the very children the builders render, same API server.
steady  API write calls during a window of no-op resyncs of 10 platforms, from the API server's
        apiserver_request_total (with and without the operator) and from the audit log.
drift   time from deleting a child Deployment to it existing again.
scale   N platforms in N namespaces: time to all Ready; operator RSS and CPU at rest.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml
from cluster_api import META_LIST, PATHS, Cluster
from common import REPO, Child, Row, cpu_seconds, free_port, rss_mib, say, summary, wait_until

PREFIX = "mpb-"
PLATFORM = "chat"
SELECTOR = f"messaging.platform.dev/platform={PLATFORM}"
SAMPLE = REPO / "manifests" / "samples" / "minimal.yaml"
# The bench's operator handles only platforms with this label, and every other operator
# (a `make up` stack's, a test run's) leaves them alone: see MESSAGING_OPERATOR_INSTANCE.
INSTANCE_LABEL = "messaging.platform.dev/operator-instance"
INSTANCE = f"bench-{uuid.uuid4().hex[:6]}"


def sample_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(SAMPLE.read_text()) if d]
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    meta = platform["metadata"]
    meta["labels"] = {**(meta.get("labels") or {}), INSTANCE_LABEL: INSTANCE}
    return gateway, platform


def render_children(platform_body: dict[str, Any], gated: bool = True) -> list[dict[str, Any]]:
    """Every child the operator's builders want once every Job has completed (the end state);
    with gated=False only those wanted before any Job ran (the first pass)."""
    from messaging_operator.builders.infrastructure import build_database_provision_job
    from messaging_operator.plan import plan_children
    from messaging_operator.spec import parse_platform
    from messaging_operator.status import Observation

    platform = parse_platform(platform_body)
    if not gated:
        return plan_children(platform, {}, Observation(), None).objects
    done = {"metadata": {}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    live: dict[tuple[str, str], dict[str, Any]] = {}
    provision = build_database_provision_job(platform)
    if provision is not None:
        live[("Job", provision["metadata"]["name"])] = done
    # observe.py reads the completed provisioning Job as the open migration gate.
    provisioned = Observation(migration_gate_open=True)
    plan = plan_children(platform, live, provisioned, None)
    for job in plan.migration_jobs.values():
        live[("Job", job)] = done
    return plan_children(platform, live, provisioned, None).objects


def expected_names(namespace: str, gated: bool = True) -> set[tuple[str, str]]:
    _, platform = sample_documents()
    body = {**platform, "metadata": {"name": PLATFORM, "namespace": namespace, "uid": "x"}}
    return {(o["kind"], o["metadata"]["name"]) for o in render_children(body, gated)}


def baseline_manifest(namespace: str) -> str:
    """The rendered children as a plain list for kubectl, without owner (no platform exists)."""
    _, platform = sample_documents()
    body = {**platform, "metadata": {"name": PLATFORM, "namespace": namespace, "uid": "x"}}
    items = []
    for obj in render_children(body):
        obj = json.loads(json.dumps(obj))
        obj["metadata"].pop("ownerReferences", None)
        obj["metadata"]["namespace"] = namespace
        items.append(obj)
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def existing(cluster: Cluster, namespace: str, kinds: set[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind in kinds:
        found |= cluster.names(kind, namespace, SELECTOR)
    return found


def single(value: float | None) -> dict[str, Any]:
    """One measurement as a row's value (NaN: not reached)."""
    value = float("nan") if value is None else value
    return {"min": value, "median": value, "max": value, "n": 1}


def is_ready(platform: dict[str, Any]) -> bool:
    for condition in (platform.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


class OperatorRun:
    """Our operator as a subprocess, as it runs in its container, under the bench identity."""

    def __init__(self, cluster: Cluster, log: Path, resync: float) -> None:
        port = free_port()
        env = {
            **cluster.env,
            "KUBECONFIG": str(cluster.bench_kubeconfig),
            "MESSAGING_OPERATOR_LIVENESS": f"http://127.0.0.1:{port}/healthz",
            "MESSAGING_OPERATOR_LOG_LEVEL": "INFO",
            "MESSAGING_OPERATOR_RESYNC_SECONDS": str(resync),
            "MESSAGING_OPERATOR_INSTANCE": INSTANCE,
        }
        self.child = Child("operator", [sys.executable, "-m", "messaging_operator"], env, log)
        url = f"http://127.0.0.1:{port}/healthz"

        def healthy() -> bool:
            if not self.child.alive():
                raise RuntimeError(f"operator exited: {self.child.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_until(healthy, 90, "the operator's liveness endpoint", every=0.3)

    @property
    def agent(self) -> str:
        return f"messaging-operator/0.1 (pid {self.child.pid})"

    def stop(self) -> None:
        self.child.stop()


class BenchNodes:
    """Extra kwok nodes for the bench's pods. The shared cluster's two nodes hold 110 pods each
    and a platform runs ~27, so past eight platforms their pods stayed Pending ("Too many
    pods") and the scale platforms could never be Ready. Deleted again at the end."""

    LABEL = "messaging-bench=node"

    def __init__(self, cluster: Cluster, count: int = 4, pods: int = 1000) -> None:
        self.cluster = cluster
        self.names = [f"kwok-{INSTANCE}-{i}" for i in range(count)]
        self.pods = pods

    def __enter__(self) -> BenchNodes:
        template = (REPO / "hack" / "cluster" / "kwok-node.yaml").read_text()
        nodes = []
        for name in self.names:
            node = yaml.safe_load(template.replace("NAME", name))
            node["metadata"]["labels"]["messaging-bench"] = "node"
            size = {"cpu": "1000", "memory": "4Ti", "pods": str(self.pods)}
            node["status"]["allocatable"] = node["status"]["capacity"] = size
            nodes.append(node)
        self.cluster.kubectl(
            "apply",
            "--server-side",
            "--validate=false",  # kwok fills nodeInfo in; the schema wants it up front
            "-f",
            "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}),
        )
        self.cluster.kubectl(
            "wait", "node", *self.names, "--for=condition=Ready", "--timeout=60s", check=False
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.kubectl("delete", "node", *self.names, "--wait=false", check=False)


class PvBinder:
    """Stand-in for a storage provisioner (kwok has none): binds each claim of a bench namespace."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def __enter__(self) -> PvBinder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(10)

    def loop(self) -> None:
        bound: set[str] = set()
        while not self.stop_event.wait(0.5):
            with contextlib.suppress(Exception):
                claims = self.cluster.get(
                    "/api/v1/persistentvolumeclaims?labelSelector=messaging.platform.dev/platform"
                )["items"]
                pending = [
                    c
                    for c in claims
                    if c["metadata"]["namespace"].startswith(PREFIX)
                    and not c["spec"].get("volumeName")
                    and c["metadata"]["uid"] not in bound
                ]
                volumes = []
                for claim in pending:
                    meta = claim["metadata"]
                    name = f"{meta['namespace']}-{meta['name']}"[:63]
                    volumes.append(
                        {
                            "apiVersion": "v1",
                            "kind": "PersistentVolume",
                            "metadata": {"name": name, "labels": {"messaging-bench": "pv"}},
                            "spec": {
                                "capacity": {
                                    "storage": claim["spec"]["resources"]["requests"]["storage"]
                                },
                                "accessModes": ["ReadWriteOnce"],
                                "persistentVolumeReclaimPolicy": "Retain",
                                "hostPath": {"path": f"/tmp/kwok-volumes/{name}"},
                                "claimRef": {
                                    "namespace": meta["namespace"],
                                    "name": meta["name"],
                                    "uid": meta["uid"],
                                },
                            },
                        }
                    )
                    bound.add(meta["uid"])
                if volumes:
                    self.cluster.kubectl(
                        "create",
                        "-f",
                        "-",
                        check=False,
                        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": volumes}),
                    )


class OperatorBench:
    def __init__(self, workdir: Path, quick: bool) -> None:
        self.workdir = workdir
        self.quick = quick
        self.cluster = Cluster(workdir)
        self.run_id = uuid.uuid4().hex[:4]
        self.namespaces: list[str] = []
        self.rows: list[Row] = []
        self.data: dict[str, Any] = {}
        self.operator: OperatorRun | None = None
        self.logs = 0

    # --- setup -----------------------------------------------------------------------------
    def namespace(self, label: str) -> str:
        name = f"{PREFIX}{self.run_id}-{label}"
        self.namespaces.append(name)
        return name

    def create_namespaces(self, names: list[str]) -> None:
        docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
        self.cluster.kubectl(
            "apply",
            "--server-side",
            "-f",
            "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}),
        )

    def platform_list(self, names: list[str]) -> str:
        gateway, platform = sample_documents()
        items = []
        for ns in names:
            items.append({**gateway, "metadata": {**gateway["metadata"], "namespace": ns}})
            items.append({**platform, "metadata": {**platform["metadata"], "namespace": ns}})
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})

    def start_operator(self, resync: float) -> OperatorRun:
        self.logs += 1
        return OperatorRun(self.cluster, self.workdir / f"operator-{self.logs}.log", resync)

    def other_operators(self) -> list[int]:
        """Other messaging-operator processes on this machine (they reconcile our platforms too)."""
        ours = {self.operator.child.pid} if self.operator else set()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) in ours:
                continue
            with contextlib.suppress(OSError):
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                operator = "messaging-operator" in cmd or "messaging_operator" in cmd
                if operator and "uv run" not in cmd:  # uv's own process only waits for its child
                    found.append(int(proc.name))
        return found

    def ready_times(self, names: list[str], started: float, timeout: float) -> dict[str, float]:
        wanted = set(names)
        times: dict[str, float] = {}
        deadline = started + timeout
        reported = time.monotonic()
        while time.monotonic() < deadline and len(times) < len(wanted):
            if time.monotonic() - reported > 30:
                say(f"{len(times)}/{len(wanted)} platforms Ready")
                reported = time.monotonic()
            for item in self.cluster.platforms():
                ns = item["metadata"]["namespace"]
                if ns in wanted and ns not in times and is_ready(item):
                    times[ns] = time.monotonic() - started
            # A list of 100 platforms with their status is a heavy read: poll it less then.
            time.sleep(0.5 if len(wanted) <= 10 else 2)
        return times

    # --- create ----------------------------------------------------------------------------
    def bench_create(self, reps: int) -> list[str]:
        expected = expected_names("x")
        kinds = {k for k, _ in expected}
        first_pass = expected_names("x", gated=False)
        operator_times, baseline_times, ready_times, winners = [], [], [], []
        first_pass_times: list[float] = []
        ready_namespaces = []
        for rep in range(reps):
            base_ns, op_ns = self.namespace(f"base{rep}"), self.namespace(f"op{rep}")
            self.create_namespaces([base_ns, op_ns])
            gateway, platform = sample_documents()
            self.cluster.kubectl(
                "apply", "--server-side", "-n", op_ns, "-f", "-", stdin=json.dumps(gateway)
            )
            arms = ["baseline", "operator"] if rep % 2 == 0 else ["operator", "baseline"]
            for arm in arms:
                if arm == "baseline":
                    manifest = baseline_manifest(base_ns)
                    started = time.monotonic()
                    self.cluster.kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
                    wait_until(
                        lambda ns=base_ns: existing(self.cluster, ns, kinds) >= expected,
                        120,
                        "the baseline's children",
                        every=0.2,
                    )
                    baseline_times.append(time.monotonic() - started)
                else:
                    offset = self.cluster.audit_offset()
                    started = time.monotonic()
                    self.cluster.kubectl(
                        "apply", "--server-side", "-n", op_ns, "-f", "-", stdin=json.dumps(platform)
                    )
                    seen: dict[tuple[str, str], float] = {}

                    def all_seen(
                        ns: str = op_ns, t0: float = started, seen: dict[Any, float] = seen
                    ) -> bool:
                        now = time.monotonic() - t0
                        for key in existing(self.cluster, ns, kinds):
                            seen.setdefault(key, now)
                        return set(seen) >= expected

                    wait_until(all_seen, 180, "the platform's children", every=0.2)
                    operator_times.append(time.monotonic() - started)
                    first_pass_times.append(max(seen[k] for k in first_pass))
                    ready = self.ready_times([op_ns], started, 180)
                    ready_times.append(ready.get(op_ns, float("nan")))
                    if op_ns in ready:
                        ready_namespaces.append(op_ns)
                    time.sleep(1)
                    writers = self.cluster.audit_writes(offset, op_ns)
                    ours = writers.get(self.operator.agent, 0) if self.operator else 0
                    others = sum(
                        v
                        for k, v in writers.items()
                        if k.startswith("messaging-operator")
                        and k != (self.operator.agent if self.operator else "")
                    )
                    winners.append({"bench_operator_writes": ours, "other_operator_writes": others})
            say(
                f"create rep {rep}: operator {operator_times[-1]:.2f}s "
                f"(Ready {ready_times[-1]:.2f}s), kubectl apply {baseline_times[-1]:.2f}s"
            )
        self.data["create"] = {
            "children": len(expected),
            "operator_seconds": operator_times,
            "baseline_seconds": baseline_times,
            "ready_seconds": ready_times,
            "first_pass_children": len(first_pass),
            "first_pass_seconds": first_pass_times,
            "writers": winners,
        }
        ratios = [o / b for o, b in zip(operator_times, baseline_times, strict=True)]
        verdict = "met" if summary(ratios)["median"] <= 1.5 else "missed"
        self.rows.append(
            Row(
                "operator",
                f"create: all {len(expected)} children exist",
                "s",
                summary(operator_times),
                summary(baseline_times),
                "kubectl apply --server-side",
                summary(ratios),
                "ratio <= 1.5",
                verdict,
                "operator includes the Job gates (provision -> migrations -> Deployments)",
            )
        )
        first_ratios = [o / b for o, b in zip(first_pass_times, baseline_times, strict=True)]
        self.rows.append(
            Row(
                "operator",
                f"create: the {len(first_pass)} children not behind a Job gate exist",
                "s",
                summary(first_pass_times),
                summary(baseline_times),
                "kubectl apply --server-side (all children)",
                summary(first_ratios),
                "",
                "n/a",
                "the operator's own apply path, without waiting for Jobs to complete",
            )
        )
        self.rows.append(
            Row(
                "operator",
                "create: platform Ready",
                "s",
                summary(ready_times),
                goal="",
                verdict="n/a",
                note="kwok marks pods Ready; no container runs",
            )
        )
        return ready_namespaces

    # --- steady state ----------------------------------------------------------------------
    def bench_steady(self, ready_namespaces: list[str], count: int, window: float) -> None:
        assert self.operator is not None
        extra = [self.namespace(f"ss{i}") for i in range(max(0, count - len(ready_namespaces)))]
        if extra:
            self.create_namespaces(extra)
            started = time.monotonic()
            self.cluster.kubectl(
                "apply", "--server-side", "-f", "-", stdin=self.platform_list(extra)
            )
            self.ready_times(extra, started, 150)
        names = ready_namespaces + extra
        time.sleep(8)  # let the last status writes and Events land before the window
        say(f"steady: {window:.0f}s window with the operator resyncing {len(names)} platforms")
        with_operator = self.write_window(window, names)
        writers = with_operator["audit_writes_in_platform_namespaces"]
        with_operator["bench_operator_writes"] = writers.get(self.operator.agent, 0)
        with_operator["other_operator_writes"] = sum(
            n
            for who, n in writers.items()
            if who.startswith("messaging-operator") and who != self.operator.agent
        )
        self.data["steady_with_operator"] = with_operator
        self.steady_names = names

    def write_window(self, window: float, names: list[str]) -> dict[str, Any]:
        before, offset = self.cluster.metrics_writes(), self.cluster.audit_offset()
        time.sleep(window)
        after = self.cluster.metrics_writes()
        delta = {f"{v} {r}": after[(v, r)] - before.get((v, r), 0) for v, r in after}
        delta = {k: n for k, n in delta.items() if n}
        writers: dict[str, int] = {}
        for ns in names:
            for who, n in self.cluster.audit_writes(offset, ns).items():
                writers[who] = writers.get(who, 0) + n
        return {
            "window_seconds": window,
            "apiserver_write_requests": sum(delta.values()),
            "by_verb_resource": delta,
            "audit_writes_in_platform_namespaces": writers,
        }

    def finish_steady(self, window: float) -> None:
        say(f"steady: {window:.0f}s baseline window with our operator stopped")
        without = self.write_window(window, self.steady_names)
        self.data["steady_without_operator"] = without
        with_op = self.data["steady_with_operator"]
        agent_writes = with_op["bench_operator_writes"]
        self.rows.append(
            Row(
                "operator",
                f"steady: writes in {with_op['window_seconds']:.0f}s of resyncs "
                f"({len(self.steady_names)} platforms, resync 5 s)",
                "writes",
                {"min": agent_writes, "median": agent_writes, "max": agent_writes, "n": 1},
                {
                    "min": without["apiserver_write_requests"],
                    "median": without["apiserver_write_requests"],
                    "max": without["apiserver_write_requests"],
                    "n": 1,
                },
                "all API writes, operator stopped",
                None,
                "0 operator writes",
                "met" if agent_writes == 0 else "missed",
                f"apiserver_request_total writes (all clients): "
                f"{with_op['apiserver_write_requests']} with the operator, "
                f"{without['apiserver_write_requests']} without; our operator's writes counted "
                "in the audit log by its user agent (another operator's in the same window: "
                f"{with_op['other_operator_writes']})",
            )
        )

    # --- drift -----------------------------------------------------------------------------
    def bench_drift(self, namespace: str, reps: int) -> None:
        name = f"{PLATFORM}-users"
        times = []
        for _ in range(reps):
            old = self.cluster.uid("Deployment", namespace, name)
            started = time.monotonic()
            self.cluster.kubectl("delete", "deployment", name, "-n", namespace, "--wait=false")

            def back(old: str | None = old) -> bool:
                uid = self.cluster.uid("Deployment", namespace, name)
                return uid is not None and uid != old

            try:
                wait_until(back, 60, "the Deployment to be back", every=0.05)
                times.append(time.monotonic() - started)
            except TimeoutError:
                times.append(float("nan"))
            time.sleep(2)
        self.data["drift_seconds"] = times
        worst = summary(times)["max"]
        self.rows.append(
            Row(
                "operator",
                "drift: deleted Deployment back",
                "s",
                summary(times),
                goal="< 2 s",
                verdict="met" if worst is not None and worst < 2 else "missed",
                note="from the delete call to the new object existing (polled every 50 ms)",
            )
        )

    # --- scale -----------------------------------------------------------------------------
    def bench_scale(self, count: int, timeout: float, rest: float) -> None:
        names = [self.namespace(f"sc{i}") for i in range(count)]
        self.create_namespaces(names)
        operator = self.operator
        assert operator is not None
        cpu0 = cpu_seconds(operator.child.pid)
        started = time.monotonic()
        self.cluster.kubectl("apply", "--server-side", "-f", "-", stdin=self.platform_list(names))
        times = self.ready_times(names, started, timeout)
        total = time.monotonic() - started
        busy_cpu = cpu_seconds(operator.child.pid) - cpu0
        say(f"scale: {len(times)}/{count} Ready after {total:.0f}s; resting {rest:.0f}s")
        time.sleep(min(10.0, rest))
        cpu1, t1 = cpu_seconds(operator.child.pid), time.monotonic()
        time.sleep(rest)
        at_rest_cpu = (cpu_seconds(operator.child.pid) - cpu1) / (time.monotonic() - t1)
        rss = rss_mib(operator.child.pid)
        managed = len(
            [p for p in self.cluster.platforms() if p["metadata"]["namespace"].startswith(PREFIX)]
        )
        self.data["scale"] = {
            "platforms": count,
            "ready": len(times),
            "ready_seconds_sorted": sorted(times.values()),
            "seconds_to_all_ready": max(times.values()) if len(times) == count else None,
            "timeout_seconds": timeout,
            "operator_cpu_seconds_while_creating": busy_cpu,
            "operator_rss_mib_at_rest": rss,
            "operator_cpu_share_at_rest": at_rest_cpu,
            "platforms_managed_at_rest": managed,
        }
        all_ready = self.data["scale"]["seconds_to_all_ready"]
        self.rows.append(
            Row(
                "operator",
                f"scale: {count} platforms in {count} namespaces, all Ready",
                "s",
                single(all_ready),
                goal="<= 120 s",
                verdict="met" if all_ready is not None and all_ready <= 120 else "missed",
                note=f"{len(times)}/{count} Ready within {timeout:.0f}s"
                + self.floor_share(all_ready),
            )
        )
        self.rows.append(
            Row(
                "operator",
                f"scale: operator RSS at rest ({managed} platforms)",
                "MiB",
                single(rss),
                goal="< 200 MiB",
                verdict="met" if rss < 200 else "missed",
                note=f"CPU {at_rest_cpu * 100:.1f}% of a core over {rest:.0f}s (resync 300 s)"
                + ("" if len(times) == count else f", {count - len(times)} still converging")
                + f"; {busy_cpu:.0f} CPU-seconds while creating the batch",
            )
        )

    def bench_scale_floor(self, count: int, timeout: float) -> None:
        """The cluster's own floor for the scale run: the same children (the builders' end
        state, Jobs included) applied at once by kubectl into `count` namespaces, no operator and
        no gates, until every Deployment and StatefulSet has all its replicas ready. What the API
        server, controller-manager, scheduler and kwok need for that many pods on this machine;
        the operator's share of the scale time is what it adds on top."""
        names = [self.namespace(f"fl{i}") for i in range(count)]
        self.create_namespaces(names)
        manifests = [json.loads(baseline_manifest(ns))["items"] for ns in names]
        want = {
            ns: sum(o["kind"] in ("Deployment", "StatefulSet") for o in m)
            for ns, m in zip(names, manifests, strict=True)
        }
        started = time.monotonic()
        # 16 kubectl processes at once: one kubectl applies its objects one by one, which alone
        # took minutes for 100 namespaces; the operator applies as many at once (4 x 8, 16 sockets).
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for _ in pool.map(
                lambda items: self.cluster.kubectl(
                    "apply",
                    "--server-side",
                    "-f",
                    "-",
                    stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
                ),
                manifests,
            ):
                pass
        applied = time.monotonic() - started
        times: dict[str, float] = {}
        reported = time.monotonic()
        while time.monotonic() - started < timeout and len(times) < count:
            ready: dict[str, int] = {}
            for path in ("/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets"):
                for obj in self.cluster.get(f"{path}?labelSelector={SELECTOR}", timeout=30)[
                    "items"
                ]:
                    ns = obj["metadata"]["namespace"]
                    replicas = obj["spec"].get("replicas", 1)
                    if ns in want and (obj.get("status") or {}).get("readyReplicas", 0) >= replicas:
                        ready[ns] = ready.get(ns, 0) + 1
            now = time.monotonic() - started
            for ns, n in ready.items():
                if n >= want[ns]:
                    times.setdefault(ns, now)
            if time.monotonic() - reported > 30:
                say(f"floor: {len(times)}/{count} namespaces with every workload ready")
                reported = time.monotonic()
            time.sleep(1)
        total = max(times.values()) if len(times) == count else None
        say(f"floor: {len(times)}/{count} ready after {time.monotonic() - started:.0f}s")
        self.data["scale_floor"] = {
            "namespaces": count,
            "ready": len(times),
            "apply_seconds": applied,
            "seconds_to_all_ready": total,
            "ready_seconds_sorted": sorted(times.values()),
        }
        self.rows.append(
            Row(
                "operator",
                f"scale floor: the same children in {count} namespaces, no operator, all ready",
                "s",
                single(total),
                verdict="n/a",
                note=f"{len(times)}/{count} within {timeout:.0f}s; kubectl apply --server-side, "
                f"16 at once ({applied:.0f}s to apply); every Deployment and StatefulSet ready",
            )
        )
        self.cleanup_namespaces(names)

    def floor_share(self, all_ready: float | None) -> str:
        floor = (self.data.get("scale_floor") or {}).get("seconds_to_all_ready")
        if floor is None or all_ready is None:
            return ""
        added = all_ready - floor
        return f"; the cluster alone took {floor:.0f}s (floor row): the operator adds {added:+.0f}s"

    # --- all -------------------------------------------------------------------------------
    def run(self, scale_count: int, scale_timeout: float) -> None:
        quick = self.quick
        self.cluster.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            str(REPO / "crds" / "messagingplatforms.yaml"),
            "-f",
            str(REPO / "crds" / "kopf-peering.yaml"),
        )
        self.data["other_operator_pids"] = self.other_operators()
        with BenchNodes(self.cluster), PvBinder(self.cluster):
            try:
                self.operator = self.start_operator(resync=5)
                self.data["other_operator_pids"] = self.other_operators()
                ready = self.bench_create(1 if quick else 3)
                self.bench_steady(ready, 2 if quick else 10, 5 if quick else 60)
                if ready:
                    self.bench_drift(ready[0], 3 if quick else 5)
                self.operator.stop()
                self.operator = None
                self.finish_steady(5 if quick else 60)
                # The cluster's own time for the same objects first, on a quiet cluster.
                self.bench_scale_floor(scale_count, scale_timeout)
                self.operator = self.start_operator(resync=300)
                self.bench_scale(scale_count, scale_timeout, 5 if quick else 20)
            finally:
                if self.operator:
                    self.operator.stop()
                self.cleanup()

    def cleanup(self) -> None:
        if os.environ.get("MP_BENCH_KEEP"):
            return
        say(f"deleting {len(self.namespaces)} bench namespaces (in the background)")
        self.delete_namespaces(self.namespaces)
        try:
            self.cluster.kubectl(
                "delete", "pv", "-l", "messaging-bench=pv", "--wait=false", check=False
            )
        except subprocess.TimeoutExpired:  # an API server busy deleting 100 namespaces
            say("the bench's PersistentVolumes were not deleted: kubectl delete pv timed out")

    def delete_namespaces(self, names: list[str]) -> None:
        for start in range(0, len(names), 50):
            self.cluster.kubectl(
                "delete",
                "namespace",
                "--wait=false",
                "--ignore-not-found",
                *names[start : start + 50],
                check=False,
            )

    def cleanup_namespaces(self, names: list[str], timeout: float = 300) -> None:
        """Delete `names` and wait until they are gone, so the next phase starts on a quiet
        cluster (a namespace of 27 pods takes the controllers a while to empty)."""
        if os.environ.get("MP_BENCH_KEEP"):
            return
        self.delete_namespaces(names)
        started = time.monotonic()
        wanted = set(names)

        def gone() -> bool:
            items = self.cluster.get("/api/v1/namespaces", accept=META_LIST)["items"]
            return not wanted & {item["metadata"]["name"] for item in items}

        wait_until(gone, timeout, "the floor's namespaces to be deleted", every=2)
        say(f"floor namespaces deleted in {time.monotonic() - started:.0f}s")


def main() -> None:
    """Tiny standalone run for development: `uv run python tests/bench/operator_bench.py`."""
    workdir = REPO / "bench-results" / "dev-operator"
    workdir.mkdir(parents=True, exist_ok=True)
    bench = OperatorBench(workdir, quick=True)
    bench.run(scale_count=int(os.environ.get("MP_BENCH_SCALE", "2")), scale_timeout=120)
    print(json.dumps(bench.data, indent=1, default=str))
    for row in bench.rows:
        print(row)


if __name__ == "__main__":
    _ = PATHS
    main()
