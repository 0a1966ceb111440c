"""`kubectl mp`: the walks of a MessagingPlatform at a glance, and the switches a person pulls.

    kubectl mp get [NAME]               every walking service: phase, weights, step, analysis
    kubectl mp history NAME [SERVICE]   the walks' Events, oldest first, with their numbers
    kubectl mp promote NAME SERVICE     promote the canary now, whatever the analysis says
    kubectl mp abort NAME SERVICE       abort it: all traffic back to stable
    kubectl mp retry NAME SERVICE       clear an abort: the walk starts again
    kubectl mp approve NAME SERVICE     open the next manual gate (canary.gates) of the walk
    kubectl mp pause NAME | resume NAME hold every walk where it is (spec.rollout.paused)

`--migration` makes promote, abort, retry and approve act on the service's migration walk instead.
kubectl finds this program on PATH as `kubectl-mp` (the operator package installs it); it calls
kubectl itself (`$KUBECTL`, else `kubectl` on PATH) with -n/--namespace and --context passed on,
so it reads the same kubeconfig and RBAC applies as to any kubectl command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from messaging_operator.spec import SERVICE_NAMES

KIND = "messagingplatforms.messaging.platform.dev"
WALKS = ("canary", "migration")
# The reasons walks post (walks/canary.py), and their analyses' (walks/analysis.py).
WALK_EVENTS = {
    "WalkStarted", "WalkRestarted", "StepAdvanced", "AnalysisFailing", "Promoted", "RolledBack",
    "Aborted", "Frozen", "RolloutPaused", "RolloutResumed", "CanaryRemoved", "AwaitingApproval",
    "WithinThresholds", "ThresholdExceeded", "TooFewRequests", "MetricsUnavailable",
    "AnalysisDisabled",
}  # fmt: skip


class KubectlError(Exception):
    pass


def percent(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def analysis_text(analysis: Mapping[str, Any] | None) -> str:
    """`pass: 1,204 req, 0.2% errors, p95 41 ms` from a walk's recorded analysis."""
    if not analysis:
        return "-"
    parts = [str(analysis.get("verdict", "?"))]
    if analysis.get("requests") is not None:
        parts.append(f"{int(analysis['requests']):,} req")
    if analysis.get("errorRate") is not None:
        parts.append(f"{percent(analysis['errorRate'])} errors")
    if analysis.get("p95LatencyMs") is not None:
        parts.append(f"p95 {float(analysis['p95LatencyMs']):.0f} ms")
    return ", ".join(parts[:1]) + (": " + ", ".join(parts[1:]) if parts[1:] else "")


def weights_text(weights: Mapping[str, Any] | None) -> str:
    """legacy/stable/canary as read back from the live HTTPRoute."""
    if not weights:
        return "-"
    return "/".join(str(weights.get(k, 0)) for k in ("legacy", "stable", "canary"))


def walk_rows(platform: Mapping[str, Any]) -> list[list[str]]:
    """One row per walk recorded in status (a service may have a canary and a migration)."""
    rows = []
    services = (platform.get("status") or {}).get("services") or {}
    for name in sorted(services):
        entry = services[name] or {}
        for kind in WALKS:
            walk = entry.get(kind)
            if not walk:
                continue
            version = walk.get("version") or "-"
            if walk.get("stableVersion"):
                version = f"{walk['stableVersion']} -> {version}"
            rows.append(
                [
                    name,
                    kind,
                    str(walk.get("phase", "?")),
                    f"{walk.get('weight', 0)}%",
                    str(walk.get("step", 0)),
                    version,
                    weights_text(entry.get("routeWeights")),
                    analysis_text(walk.get("analysis")),
                    str(walk.get("message", "")),
                ]
            )
    return rows


WALK_HEADERS = [
    "SERVICE", "WALK", "PHASE", "WEIGHT", "STEP", "VERSION", "LEGACY/STABLE/CANARY", "ANALYSIS",
    "MESSAGE",
]  # fmt: skip


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """kubectl's plain table: columns three spaces apart, the last one not padded."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        lines.append("   ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


def summary(platform: Mapping[str, Any]) -> str:
    meta, spec = platform["metadata"], platform.get("spec") or {}
    status = platform.get("status") or {}
    paused = (spec.get("rollout") or {}).get("paused", False)
    return (
        f"Name:       {meta['name']}\nNamespace:  {meta.get('namespace', '')}\n"
        f"Phase:      {status.get('phase', 'Unknown')}\nVersion:    {spec.get('version', '')}\n"
        f"Ready:      {status.get('readyServices', '-')}\n"
        f"Migrated:   {status.get('migratedShare', '-')}\n"
        f"Rollout:    {'paused' if paused else 'running'}"
    )


def history_rows(events: Sequence[Mapping[str, Any]], service: str | None) -> list[list[str]]:
    """The walks' Events on the platform, oldest first; a service's only when one is named."""
    rows = []
    for event in events:
        if event.get("reason") not in WALK_EVENTS:
            continue
        message = str(event.get("message", ""))
        if service and not message.startswith(f"{service}: "):  # the operator names it first
            continue
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        rows.append([str(when), str(event.get("type", "")), str(event["reason"]), message])
    return sorted(rows, key=lambda row: row[0])


def walk_patch(service: str, kind: str, field: str, value: bool | int) -> dict[str, Any]:
    return {"spec": {"services": {service: {kind: {field: value}}}}}


def check_walk(platform: Mapping[str, Any], service: str, kind: str) -> None:
    """Refuse what the API server would take silently: an unknown service (its fields are
    pruned), or a switch on a walk the spec does not declare."""
    if service not in SERVICE_NAMES:
        raise KubectlError(f"no service {service!r}: one of {', '.join(SERVICE_NAMES)}")
    spec = platform.get("spec") or {}
    declared = ((spec.get("services") or {}).get(service) or {}).get(kind) or {}
    if kind == "canary" and not declared.get("version"):
        raise KubectlError(f"{service} declares no canary (spec.services.{service}.canary.version)")
    if kind == "migration" and not declared and not spec.get("migrationPlan"):
        raise KubectlError(f"{service} declares no migration (spec.services.{service}.migration)")


def next_gate(platform: Mapping[str, Any], service: str, kind: str) -> int:
    """The gate to approve: the first of `gates` above what is approved and above the weight
    the walk has reached (the one it waits at, when it waits)."""
    declared = (((platform.get("spec") or {}).get("services") or {}).get(service) or {}).get(kind)
    declared = declared or {}
    status = ((platform.get("status") or {}).get("services") or {}).get(service) or {}
    reached = int((status.get(kind) or {}).get("weight", 0))
    approved = int(declared.get("approved") or 0)
    ahead = [g for g in sorted(declared.get("gates") or []) if g > max(approved, reached)]
    if not ahead:
        raise KubectlError(
            f"{service}'s {kind} has no gate left to approve (gates: "
            f"{declared.get('gates') or 'none'}, approved: {approved})"
        )
    return int(ahead[0])


def rollout_patch(paused: bool) -> dict[str, Any]:
    return {"spec": {"rollout": {"paused": paused}}}


class Kubectl:
    def __init__(self, namespace: str | None, context: str | None) -> None:
        self.base = [os.environ.get("KUBECTL", "kubectl")]
        if context:
            self.base += ["--context", context]
        if namespace:
            self.base += ["-n", namespace]

    def run(self, *args: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - kubectl with our own arguments, no shell
                [*self.base, *args], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise KubectlError(f"kubectl could not run: {error}") from error
        if done.returncode != 0:
            raise KubectlError(done.stderr.strip() or f"kubectl {' '.join(args)} failed")
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def patch(self, name: str, body: Mapping[str, Any]) -> None:
        self.run("patch", KIND, name, "--type=merge", "-p", json.dumps(body))


def get(kube: Kubectl, name: str | None) -> str:
    platforms = [kube.json("get", KIND, name)] if name else kube.json("get", KIND)["items"]
    if not platforms:
        return "No MessagingPlatforms found."
    blocks = []
    for platform in platforms:
        rows = walk_rows(platform)
        walks = table(WALK_HEADERS, rows) if rows else "No walks: every service serves its version."
        blocks.append(f"{summary(platform)}\n\n{walks}")
    return "\n\n".join(blocks)


def history(kube: Kubectl, name: str, service: str | None) -> str:
    selector = f"involvedObject.kind=MessagingPlatform,involvedObject.name={name}"
    events = kube.json("get", "events", "--field-selector", selector)["items"]
    rows = history_rows(events, service)
    if not rows:
        return f"No walk events for {name} (Events expire after an hour by default)."
    return table(["TIME", "TYPE", "REASON", "MESSAGE"], rows)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kubectl mp", description="The walks of MessagingPlatforms, and their switches."
    )
    top.add_argument("-n", "--namespace")
    top.add_argument("--context")
    # As with kubectl, -n and --context may also come after the command (`get chat -n demo`);
    # SUPPRESS keeps a value given before it.
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("-n", "--namespace", default=argparse.SUPPRESS)
    where.add_argument("--context", default=argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "get", help="every walk of a platform (or of all)", parents=[where]
    ).add_argument("name", nargs="?")
    shown = commands.add_parser("history", help="the walks' Events, oldest first", parents=[where])
    shown.add_argument("name")
    shown.add_argument("service", nargs="?")
    for command, text in (
        ("promote", "promote now, whatever the analysis says"),
        ("abort", "abort: all traffic back to stable (or legacy)"),
        ("retry", "clear an abort: the walk starts again"),
        ("approve", "open the walk's next manual gate"),
    ):
        sub = commands.add_parser(command, help=text, parents=[where])
        sub.add_argument("name")
        sub.add_argument("service")
        sub.add_argument("--migration", action="store_true", help="act on the migration walk")
    for command in ("pause", "resume"):
        commands.add_parser(command, help=f"{command} every walk", parents=[where]).add_argument(
            "name"
        )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    kube = Kubectl(args.namespace, args.context)
    try:
        if args.command == "get":
            print(get(kube, args.name))
        elif args.command == "history":
            print(history(kube, args.name, args.service))
        elif args.command == "approve":
            kind = "migration" if args.migration else "canary"
            platform = kube.json("get", KIND, args.name)
            check_walk(platform, args.service, kind)
            gate = next_gate(platform, args.service, kind)
            kube.patch(args.name, walk_patch(args.service, kind, "approved", gate))
            print(f"{args.name}: {args.service} {kind} approved to {gate}%")
        elif args.command in ("promote", "abort", "retry"):
            kind = "migration" if args.migration else "canary"
            check_walk(kube.json("get", KIND, args.name), args.service, kind)
            field, value = {"promote": ("promote", True), "abort": ("abort", True)}.get(
                args.command, ("abort", False)
            )
            kube.patch(args.name, walk_patch(args.service, kind, field, value))
            print(f"{args.name}: {args.service} {kind} {args.command} asked")
        else:
            kube.patch(args.name, rollout_patch(args.command == "pause"))
            print(f"{args.name}: every walk {'paused' if args.command == 'pause' else 'resumed'}")
    except KubectlError as error:
        print(f"kubectl mp: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
