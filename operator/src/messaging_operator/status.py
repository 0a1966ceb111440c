"""Status as the Kubernetes API conventions shape it, computed from what the cluster shows.

Pure functions: they read live objects (plain dicts) and return conditions and a status dict.
Conditions carry their own observedGeneration; lastTransitionTime moves only when a condition's
status flips; reasons are CamelCase and never empty; every condition exists from the first visit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from messaging_operator.builders.jobs import contract_job_for
from messaging_operator.builders.metadata import COMPONENT_LABEL, VERSION_LABEL
from messaging_operator.condition_messages import bounded, distinct
from messaging_operator.spec import Platform

CONDITION_TYPES = (
    "Ready",
    "InfrastructureReady",
    "MigrationsSucceeded",
    "ServicesReady",
    "RoutesReady",
    "CanaryProgressing",
    "BackupsSucceeded",
    "RestoreSucceeded",
)
# Canary phases that still hold traffic (canary.ACTIVE and Frozen): the CANARIES column.
CANARY_IN_FLIGHT = frozenset({"Progressing", "Waiting", "Paused", "Frozen"})
# Pod waiting reasons that no amount of waiting fixes: surface them at once.
STUCK_POD_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)

Live = Mapping[tuple[str, str], dict[str, Any]]
# `pods "chat-auth-5d8f9c-" is forbidden: ...`: the name differs per ReplicaSet, the cause not.
_POD_NAME = re.compile(r'pods? "[^"]*"')


@dataclass(frozen=True)
class Check:
    """One condition's verdict; `failed` marks a fault (phase Failed), not mere progress."""

    status: str
    reason: str
    message: str
    failed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "True"


@dataclass(frozen=True)
class Observation:
    """What a reconcile found besides the children themselves (observe.py): read-only facts.
    Decisions taken from them while planning live in plan.Plan."""

    missing: tuple[str, ...] = ()  # messages about missing user objects
    gateway_found: bool | None = None  # None: no gateway configured
    gateway_api_installed: bool = True  # the Gateway API CRDs exist in the cluster
    legacy_found: bool | None = None
    # The provisioning Job completed: the database has run, so it being down now is a fault
    # (not a start-up), and migrations may run.
    migration_gate_open: bool = False


def job_state(job: dict[str, Any] | None) -> tuple[str, str]:
    """(Complete | Failed | Running | Absent, detail) from a Job's status conditions."""
    if job is None:
        return "Absent", ""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return "Complete", ""
        if condition.get("type") == "Failed":
            return "Failed", f"{condition.get('reason', 'Failed')}: {condition.get('message', '')}"
    return "Running", ""


@dataclass(frozen=True)
class StuckPod:
    pod: str
    reason: str  # the container's waiting reason, e.g. ImagePullBackOff
    image: str

    def __str__(self) -> str:
        return f"pod {self.pod}: {self.reason} ({self.image})"


def stuck_pod(live: Live, component: str) -> StuckPod | None:
    """A pod of `component` stuck on a reason that waiting will not cure."""
    for (kind, name), pod in sorted(live.items()):
        if kind != "Pod":
            continue
        if (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/name") != component:
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for status in statuses:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK_POD_REASONS:
                return StuckPod(name, waiting["reason"], status.get("image", ""))
    return None


def _workload_ready(obj: dict[str, Any] | None) -> tuple[bool, int, int]:
    """(rolled out and ready, ready replicas, wanted replicas) for a Deployment/StatefulSet."""
    if obj is None:
        return False, 0, 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas", 0))
    current = status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
    updated = int(status.get("updatedReplicas", 0)) >= want
    settled = int(status.get("replicas", 0)) == want
    return current and updated and settled and ready >= want, ready, want


def _migration_job(job: dict[str, Any]) -> bool:
    """Schema migrations (and their contractions): reported by MigrationsSucceeded."""
    component = (job["metadata"].get("labels") or {}).get(COMPONENT_LABEL, "")
    return str(component).endswith("-migrate")


def _data_job(job: dict[str, Any]) -> bool:
    """Backup and restore Jobs: reported by their own conditions (backups.py), not as setup."""
    component = (job["metadata"].get("labels") or {}).get("app.kubernetes.io/name", "")
    return str(component).endswith(("-backup", "-restore"))


def evaluate_infrastructure(platform: Platform, live: Live, seen: Observation) -> Check:
    if seen.missing:
        return Check("False", "SecretMissing", "; ".join(distinct(seen.missing)), failed=True)
    waiting = []
    spec = platform.spec
    managed = {
        "postgres": spec.postgres.managed,
        "redis": spec.redis.managed,
        "rabbitmq": spec.rabbitmq.managed,
        "minio": spec.object_storage.managed,
    }
    for component in (c for c, on in managed.items() if on):
        name = f"{platform.name}-{component}"
        stuck = stuck_pod(live, component)
        if stuck:
            # An image that cannot be had is said as such, as for the services' pods.
            reason = "ImagePullError" if "Image" in stuck.reason else "PodStuck"
            return Check("False", reason, f"{component}: {stuck}", failed=True)
        statefulset = live.get(("StatefulSet", name))
        ready, have, want = _workload_ready(statefulset)
        if not ready:
            waiting.append(f"{component} {have}/{want} ready")
            if component == "postgres" and statefulset is not None and have < want:
                down = f"PostgreSQL {name}: {have}/{want} ready"
                return Check("False", "DatabaseUnavailable", down, failed=seen.migration_gate_open)
    for (kind, name), job in sorted(live.items()):
        if kind != "Job" or _migration_job(job) or _data_job(job):
            continue
        state, detail = job_state(job)
        if state == "Failed":
            return Check("False", "SetupJobFailed", f"Job {name} failed: {detail}", failed=True)
        if state != "Complete":
            waiting.append(f"Job {name} running")
    if waiting:
        return Check("False", "WaitingForInfrastructure", "waiting for " + ", ".join(waiting))
    return Check("True", "InfrastructureReady", "databases, cache, broker and storage are ready")


def evaluate_migrations(
    platform: Platform, live: Live, seen: Observation, job_names: Mapping[str, str]
) -> Check:
    """job_names: service -> the migration Job of its target version."""
    if not job_names:
        return Check("True", "NoMigrations", "no service owns a database")
    running, waiting = [], []
    for service, job_name in sorted(job_names.items()):
        state, detail = job_state(live.get(("Job", job_name)))
        if state == "Failed":
            return Check(
                "False",
                "MigrationJobFailed",
                f"{service}: Job {job_name} failed ({detail}); its Deployment was left as it was",
                failed=True,
            )
        if state == "Running":
            stuck = stuck_pod(live, f"{service}-migrate")
            if stuck:
                return Check("False", "MigrationPodStuck", f"{service}: {stuck}", failed=True)
            running.append(service)
        elif state == "Absent":
            waiting.append(service)
    for service, job_name in sorted(job_names.items()):
        contract = contract_job_for(job_name)
        state, detail = job_state(live.get(("Job", contract)))
        if state == "Failed":
            return Check(
                "False",
                "ContractMigrationFailed",
                f"{service}: Job {contract} failed ({detail}); the expanded schema still serves"
                " this version; delete the Job to run the contraction again",
                failed=True,
            )
        if state == "Running":
            running.append(f"{service} (contract)")
    if running:
        return Check("False", "MigrationsRunning", "running: " + ", ".join(running))
    if waiting:
        return Check(
            "False",
            "WaitingForDatabase",
            "migrations wait for the database to be provisioned: " + ", ".join(waiting),
        )
    return Check("True", "MigrationsSucceeded", "every schema is at its target version")


def replica_failure(deployment: dict[str, Any] | None) -> str | None:
    """Why a Deployment's pods cannot be created (its ReplicaFailure condition), without the
    generated pod name, so one cause on several services reads the same."""
    for condition in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            message = str(condition.get("message") or condition.get("reason") or "FailedCreate")
            return _POD_NAME.sub("pods", message)
    return None


def evaluate_services(
    platform: Platform, live: Live, seen: Observation
) -> tuple[Check, dict[str, dict[str, Any]]]:
    per_service: dict[str, dict[str, Any]] = {}
    not_ready: list[str] = []
    stuck_by_reason: dict[str, list[str]] = {}
    not_created: dict[str, list[str]] = {}  # cause -> services whose pods cannot be created
    for service in platform.spec.enabled_services:
        deployment = live.get(("Deployment", f"{platform.name}-{service.name}"))
        ready, have, want = _workload_ready(deployment)
        running = (
            (deployment["metadata"].get("labels") or {}).get(VERSION_LABEL) if deployment else None
        )
        at_target = running == service.version
        entry: dict[str, Any] = {
            "ready": ready and at_target,
            "readyReplicas": have,
            "replicas": want if deployment else service.replicas,
            "version": running or "",
            "targetVersion": service.version,
        }
        per_service[service.name] = entry
        stuck = stuck_pod(live, service.name)
        if stuck:
            stuck_by_reason.setdefault(stuck.reason, []).append(f"{service.name} ({stuck.image})")
        cause = replica_failure(deployment)
        if cause:
            not_created.setdefault(cause, []).append(service.name)
        if not entry["ready"]:
            not_ready.append(service.name)
    if stuck_by_reason:
        # The same cause on several services (one bad image repository) is said once.
        first = next(iter(stuck_by_reason))
        reason = "ImagePullError" if "Image" in first else "PodStuck"
        message = "; ".join(
            f"{waiting}: {', '.join(services)}" for waiting, services in stuck_by_reason.items()
        )
        return Check("False", reason, message, failed=True), per_service
    if not_created:
        # Waiting will not bring these pods (a quota, an admission policy, an invalid pod).
        message = "; ".join(f"{', '.join(names)}: {cause}" for cause, names in not_created.items())
        return Check("False", "PodCreationFailed", message, failed=True), per_service
    if not_ready:
        total = len(platform.spec.enabled_services)
        message = f"{total - len(not_ready)}/{total} ready; waiting for " + ", ".join(not_ready)
        return Check("False", "ServicesNotReady", message), per_service
    return Check("True", "ServicesReady", "every service is ready at its version"), per_service


def evaluate_routes(platform: Platform, live: Live, seen: Observation) -> Check:
    gateway = platform.spec.gateway
    if gateway is None:
        return Check("True", "NoGatewayConfigured", "spec.gateway is not set: no routes wanted")
    ref = gateway.gateway_ref
    where = ref.namespace or platform.namespace
    if not seen.gateway_api_installed:
        return Check(
            "False",
            "GatewayAPIMissing",
            "the Gateway API CRDs (gateway.networking.k8s.io/v1) are not installed",
            failed=True,
        )
    if seen.gateway_found is False:
        return Check(
            "False", "GatewayNotFound", f"Gateway {where}/{ref.name} does not exist", failed=True
        )
    if seen.legacy_found is False and gateway.legacy is not None:
        return Check(
            "False",
            "LegacyServiceNotFound",
            f"legacy Service {platform.namespace}/{gateway.legacy.service} does not exist",
            failed=True,
        )
    missing = []
    for service in platform.spec.enabled_services:
        route = live.get(("HTTPRoute", f"{platform.name}-{service.name}"))
        if route is None:
            missing.append(service.name)
            continue
        for parent in (route.get("status") or {}).get("parents") or []:
            for condition in parent.get("conditions") or []:
                if condition.get("type") == "Accepted" and condition.get("status") == "False":
                    return Check(
                        "False",
                        "RouteNotAccepted",
                        f"HTTPRoute {route['metadata']['name']}: {condition.get('message', '')}",
                        failed=True,
                    )
    if missing:
        return Check("False", "RoutesPending", "routes not yet created: " + ", ".join(missing))
    return Check("True", "RoutesApplied", f"routes attached to Gateway {where}/{ref.name}")


def summarize(checks: Mapping[str, Check]) -> Check:
    """Ready is True when all parts are; otherwise it carries the most telling part's reason."""
    parts = [(kind, check) for kind, check in checks.items() if kind != "Ready"]
    bad = [p for p in parts if p[1].failed] or [p for p in parts if not p[1].ok]
    if not bad:
        return Check("True", "Ready", "the platform is ready")
    kind, check = bad[0]
    return Check("False", check.reason, f"{kind}: {check.message}", failed=check.failed)


def merge_conditions(
    old: list[dict[str, Any]] | None, checks: Mapping[str, Check], generation: int, now: str
) -> list[dict[str, Any]]:
    previous = {c.get("type"): c for c in old or []}
    result = []
    for kind in CONDITION_TYPES:
        if kind not in checks:
            continue
        check = checks[kind]
        before = previous.get(kind)
        flipped = before is None or before.get("status") != check.status
        result.append(
            {
                "type": kind,
                "status": check.status,
                "observedGeneration": generation,
                "lastTransitionTime": now if flipped else before["lastTransitionTime"],  # type: ignore[index]
                "reason": check.reason,
                "message": bounded(check.message),
            }
        )
    return result


def phase_of(checks: Mapping[str, Check]) -> str:
    if checks["Ready"].ok:
        return "Ready"
    if any(check.failed for check in checks.values()):
        return "Failed"
    return "Progressing"


def migrated_share(platform: Platform, weights: Mapping[str, int]) -> str:
    enabled = [s.name for s in platform.spec.enabled_services]
    if not enabled:
        return "0%"
    return f"{round(sum(weights.get(n, 0) for n in enabled) / len(enabled))}%"


def build_status(
    platform: Platform,
    checks: Mapping[str, Check],
    services: dict[str, dict[str, Any]],
    weights: Mapping[str, int],
    old: Mapping[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    for name, weight in weights.items():
        if name in services:
            services[name]["weight"] = weight
    versions = {entry["version"] for entry in services.values()}
    ready = sum(1 for entry in services.values() if entry["ready"])
    return {
        "phase": phase_of(checks),
        "observedGeneration": platform.generation,
        "readyServices": f"{ready}/{len(services)}",
        "version": versions.pop() if len(versions) == 1 else "mixed",
        "canaries": sum(
            1
            for entry in services.values()
            if (entry.get("canary") or {}).get("phase") in CANARY_IN_FLIGHT
        ),
        "migratedShare": migrated_share(platform, weights),
        "services": services,
        "conditions": merge_conditions(
            (old or {}).get("conditions"), checks, platform.generation, now
        ),
    }


def merge_patch(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """An RFC 7386 merge patch turning `old` into `new` ({} when they are equal)."""
    old = old or {}
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before:
            patch[key] = value
    return patch


def transitions(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Conditions whose status or reason changed since the last status we wrote."""
    previous = {c.get("type"): c for c in old or []}
    changed = []
    for condition in new:
        before = previous.get(condition["type"])
        if before is None or (before.get("status"), before.get("reason")) != (
            condition["status"],
            condition["reason"],
        ):
            changed.append(condition)
    return changed
