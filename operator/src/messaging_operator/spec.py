"""A typed, defaulted view of a MessagingPlatform's spec.

The CRD schema applies the same defaults on the API server; they are repeated here so the
builders see a complete spec even for an object that predates a default (and in unit tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from messaging_operator import GROUP, VERSION
from messaging_operator.walks.migration_plan import plan_order
from messaging_operator.walks.settings import (
    RolloutControls,
    WalkSettings,
    canary_settings,
    migration_settings,
)

# Service name -> container port (fixed by the platform's design, one port per service).
SERVICE_PORTS: dict[str, int] = {
    "auth": 8001,
    "users": 8002,
    "messages": 8003,
    "groups": 8004,
    "media": 8005,
    "relay": 8006,
    "notifications": 8007,
    "websocket": 8008,
}
SERVICE_NAMES: tuple[str, ...] = tuple(SERVICE_PORTS)

# What each service's settings require (services/<name>/src/*/core/config.py; a test holds the
# two together). Services that own tables get a database, a role and a schema-migration Job.
DATABASE_SERVICES: frozenset[str] = frozenset(
    {"auth", "users", "messages", "groups", "media", "notifications"}
)
REDIS_SERVICES: frozenset[str] = frozenset({"auth", "relay", "notifications", "websocket"})
BROKER_SERVICES: frozenset[str] = frozenset(SERVICE_PORTS)
STORAGE_SERVICES: frozenset[str] = frozenset({"media"})

DEFAULT_IMAGE_REPOSITORY = "ghcr.io/acme/messaging"
DEFAULT_REPLICAS = 2
DEFAULT_BACKUPS_RETAIN = 7


@dataclass(frozen=True)
class Resources:
    requests: dict[str, str] = field(
        default_factory=lambda: {"cpu": "50m", "memory": "128Mi"},
    )
    limits: dict[str, str] = field(default_factory=lambda: {"memory": "256Mi"})


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool = False
    min_replicas: int = 2
    max_replicas: int = 10
    target_cpu_percent: int = 70


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    version: str
    replicas: int = DEFAULT_REPLICAS
    # uvicorn worker processes per pod (the service's WORKERS setting).
    workers: int = 1
    enabled: bool = True
    resources: Resources = field(default_factory=Resources)
    autoscaling: Autoscaling = field(default_factory=Autoscaling)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    # Share (0..100) of this service's path that goes to the new service rather than legacy.
    migration_weight: int = 100
    # The walks the spec asks for (walks/settings.py), parsed here once for every reader.
    canary: WalkSettings = field(default_factory=lambda: canary_settings(None, ""))
    # Gaps filled from spec.migrationPlan when the service is in the plan's order.
    migration: WalkSettings = field(default_factory=lambda: migration_settings(None))
    # spec.services.<name>.restore.backup: the backup to restore (backups.py walks the steps).
    restore_backup: str | None = None

    @property
    def owns_database(self) -> bool:
        return self.name in DATABASE_SERVICES


@dataclass(frozen=True)
class Backend:
    """One infrastructure part: managed by us, or external behind a user Secret."""

    mode: str = "managed"
    storage: str = "1Gi"
    storage_class: str | None = None  # None: the cluster's default StorageClass
    secret_ref: str | None = None
    replicas: int = 1
    bucket: str = "media"
    # Object storage: where clients reach the bucket (presigned upload and download URLs).
    public_url: str | None = None
    # durable | relaxed (managed PostgreSQL and Redis): see the CRD's description.
    durability: str = "durable"

    @property
    def managed(self) -> bool:
        return self.mode == "managed"


@dataclass(frozen=True)
class GatewayRef:
    name: str
    namespace: str | None = None
    section_name: str | None = None


@dataclass(frozen=True)
class Legacy:
    service: str
    port: int


@dataclass(frozen=True)
class DataPlane:
    """Where the Gateway's proxy pods run (NetworkPolicies admit them); None: GEP-1762's label
    in the Gateway's namespace."""

    namespace: str | None = None
    pod_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Gateway:
    gateway_ref: GatewayRef
    hostname: str | None = None
    legacy: Legacy | None = None
    data_plane: DataPlane = field(default_factory=DataPlane)


@dataclass(frozen=True)
class Web:
    """The browser client (services/web), served at `/` through the gateway."""

    enabled: bool = True
    replicas: int = DEFAULT_REPLICAS
    version: str = ""


@dataclass(frozen=True)
class Backups:
    """spec.backups: a CronJob per database service when `schedule` is set; keep `retain`."""

    schedule: str | None = None
    retain: int = DEFAULT_BACKUPS_RETAIN


@dataclass(frozen=True)
class Smtp:
    """spec.notifications.smtp: the mail server notifications sends through."""

    host: str
    port: int = 587
    secret_ref: str | None = None  # keys `username` and `password`


@dataclass(frozen=True)
class MigrationPlan:
    """spec.migrationPlan: the enabled services it walks, one after another, in this order."""

    order: tuple[str, ...]


@dataclass(frozen=True)
class PlatformSpec:
    version: str
    image_repository: str = DEFAULT_IMAGE_REPOSITORY
    image_pull_policy: str = "IfNotPresent"
    services: dict[str, ServiceSpec] = field(default_factory=dict)
    postgres: Backend = field(default_factory=lambda: Backend(storage="10Gi"))
    redis: Backend = field(default_factory=Backend)
    rabbitmq: Backend = field(default_factory=Backend)
    object_storage: Backend = field(default_factory=lambda: Backend(storage="10Gi"))
    gateway: Gateway | None = None
    deletion_policy: str = "Retain"
    log_level: str = "INFO"
    web: Web = field(default_factory=Web)
    backups: Backups = field(default_factory=Backups)
    rollout: RolloutControls = field(default_factory=RolloutControls)
    migration_plan: MigrationPlan | None = None
    # spec.analysis.prometheus.url: what walks are judged by (None: by time alone).
    prometheus_url: str | None = None
    smtp: Smtp | None = None

    @property
    def enabled_services(self) -> list[ServiceSpec]:
        return [s for s in self.services.values() if s.enabled]


@dataclass(frozen=True)
class Platform:
    """A MessagingPlatform object: identity (for owner references) plus its spec."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: PlatformSpec

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "MessagingPlatform",
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def _backend(raw: dict[str, Any] | None, *, storage: str) -> Backend:
    raw = raw or {}
    ref = raw.get("secretRef") or {}
    return Backend(
        mode=raw.get("mode", "managed"),
        storage=str(raw.get("storage", storage)),
        storage_class=raw.get("storageClassName"),
        secret_ref=ref.get("name"),
        replicas=int(raw.get("replicas", 1)),
        bucket=raw.get("bucket", "media"),
        public_url=(raw.get("publicUrl") or "").rstrip("/") or None,
        durability=raw.get("durability", "durable"),
    )


def _service(
    name: str,
    raw: dict[str, Any] | None,
    default_version: str,
    plan: dict[str, Any] | None = None,
) -> ServiceSpec:
    raw = raw or {}
    resources_raw = raw.get("resources") or {}
    resources = Resources()
    if resources_raw.get("requests") or resources_raw.get("limits"):
        # The user's own sizes, with nothing of ours mixed in: a default limit under their
        # request (or a default request over their limit) would make every pod invalid.
        resources = Resources(
            requests={str(k): str(v) for k, v in (resources_raw.get("requests") or {}).items()},
            limits={str(k): str(v) for k, v in (resources_raw.get("limits") or {}).items()},
        )
    auto_raw = raw.get("autoscaling") or {}
    autoscaling = Autoscaling(
        enabled=bool(auto_raw.get("enabled", False)),
        min_replicas=int(auto_raw.get("minReplicas", 2)),
        max_replicas=int(auto_raw.get("maxReplicas", 10)),
        target_cpu_percent=int(auto_raw.get("targetCPUUtilizationPercentage", 70)),
    )
    version = str(raw.get("version") or default_version)
    return ServiceSpec(
        name=name,
        port=SERVICE_PORTS[name],
        version=version,
        replicas=int(raw.get("replicas", DEFAULT_REPLICAS)),
        workers=int(raw.get("workers", 1)),
        enabled=bool(raw.get("enabled", True)),
        resources=resources,
        autoscaling=autoscaling,
        pod_annotations={str(k): str(v) for k, v in (raw.get("podAnnotations") or {}).items()},
        migration_weight=int((raw.get("migration") or {}).get("weight", 100)),
        canary=canary_settings(raw.get("canary"), version),
        migration=migration_settings(raw.get("migration"), plan),
        restore_backup=(raw.get("restore") or {}).get("backup") or None,
    )


def parse_spec(raw: dict[str, Any]) -> PlatformSpec:
    version = str(raw["version"])
    services_raw = raw.get("services") or {}
    raw_plan = raw.get("migrationPlan")
    enabled = [n for n in SERVICE_NAMES if (services_raw.get(n) or {}).get("enabled", True)]
    plan = None if raw_plan is None else MigrationPlan(plan_order(raw_plan, enabled))
    services = {
        name: _service(
            name,
            services_raw.get(name),
            version,
            raw_plan if plan is not None and name in plan.order else None,
        )
        for name in SERVICE_NAMES
    }
    gateway = None
    gw_raw = raw.get("gateway")
    if gw_raw and gw_raw.get("gatewayRef"):
        ref = gw_raw["gatewayRef"]
        legacy_raw = gw_raw.get("legacy")
        gateway = Gateway(
            gateway_ref=GatewayRef(
                name=ref["name"],
                namespace=ref.get("namespace"),
                section_name=ref.get("sectionName"),
            ),
            hostname=gw_raw.get("hostname"),
            legacy=Legacy(service=legacy_raw["service"], port=int(legacy_raw["port"]))
            if legacy_raw
            else None,
            data_plane=DataPlane(
                namespace=(gw_raw.get("dataPlane") or {}).get("namespace"),
                pod_labels=tuple(
                    sorted(((gw_raw.get("dataPlane") or {}).get("podLabels") or {}).items())
                ),
            ),
        )
    return PlatformSpec(
        version=version,
        image_repository=str(raw.get("imageRepository", DEFAULT_IMAGE_REPOSITORY)).rstrip("/"),
        image_pull_policy=raw.get("imagePullPolicy", "IfNotPresent"),
        services=services,
        postgres=_backend(raw.get("postgres"), storage="10Gi"),
        redis=_backend(raw.get("redis"), storage="1Gi"),
        rabbitmq=_backend(raw.get("rabbitmq"), storage="1Gi"),
        object_storage=_backend(raw.get("objectStorage"), storage="10Gi"),
        gateway=gateway,
        deletion_policy=raw.get("deletionPolicy", "Retain"),
        log_level=raw.get("logLevel", "INFO"),
        web=Web(
            enabled=bool((raw.get("web") or {}).get("enabled", True)),
            replicas=int((raw.get("web") or {}).get("replicas", DEFAULT_REPLICAS)),
            version=str((raw.get("web") or {}).get("version") or version),
        ),
        backups=Backups(
            schedule=(raw.get("backups") or {}).get("schedule") or None,
            retain=int((raw.get("backups") or {}).get("retain", DEFAULT_BACKUPS_RETAIN)),
        ),
        rollout=RolloutControls.from_spec(raw.get("rollout")),
        migration_plan=plan,
        prometheus_url=((raw.get("analysis") or {}).get("prometheus") or {}).get("url") or None,
        smtp=_smtp((raw.get("notifications") or {}).get("smtp")),
    )


def _smtp(raw: dict[str, Any] | None) -> Smtp | None:
    if not raw or not raw.get("host"):
        return None
    return Smtp(
        host=raw["host"],
        port=int(raw.get("port", 587)),
        secret_ref=(raw.get("secretRef") or {}).get("name"),
    )


def parse_platform(body: dict[str, Any]) -> Platform:
    meta = body["metadata"]
    return Platform(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta.get("uid", ""),
        generation=int(meta.get("generation", 0)),
        spec=parse_spec(body.get("spec") or {}),
    )


INSTANCE_LABEL = "messaging.platform.dev/operator-instance"


def handled_by(body: dict[str, Any], instance: str) -> bool:
    """Whether the operator instance `instance` ("" for the default one) owns this platform."""
    labels = body.get("metadata", {}).get("labels") or {}
    return bool(labels.get(INSTANCE_LABEL, "") == instance)
