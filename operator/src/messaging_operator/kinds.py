"""Every kind the operator reads or writes, in one table.

The client's paths (kube.py), what a reconcile lists and prunes (reconcile.py) and what is
watched (handlers.py) all come from here, so a new child kind cannot be managed but unwatched
(a CronJob edited by hand was once repaired only at the periodic resync).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Watch(Enum):
    NONE = "none"
    # The platform's own children (label managed-by=messaging-operator): a change or a
    # deletion queues the owning platform.
    CHILDREN = "children"
    # Children, and also the user's objects a platform names (a Secret for an external part,
    # the legacy monolith's Service): their arrival must unblock the platform at once.
    CHILDREN_AND_REFERENCES = "children-and-references"


@dataclass(frozen=True)
class Kind:
    name: str
    api_version: str
    plural: str
    child: bool = False  # made by the operator: listed by label in every reconcile
    prunable: bool = False  # a child deleted once no longer desired
    watch: Watch = Watch.NONE

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def version(self) -> str:
        return self.api_version.split("/")[-1]


# Secrets (credentials) and Jobs (the record that a migration ran) are never pruned; PVCs follow
# their StatefulSet's retention policy. Pods are children of ReplicaSets and Jobs, looked at only.
KINDS: tuple[Kind, ...] = (
    Kind("Secret", "v1", "secrets", child=True, watch=Watch.CHILDREN_AND_REFERENCES),
    Kind("ConfigMap", "v1", "configmaps", child=True, prunable=True, watch=Watch.CHILDREN),
    Kind(
        "Service",
        "v1",
        "services",
        child=True,
        prunable=True,
        watch=Watch.CHILDREN_AND_REFERENCES,
    ),
    Kind("Deployment", "apps/v1", "deployments", child=True, prunable=True, watch=Watch.CHILDREN),
    Kind("StatefulSet", "apps/v1", "statefulsets", child=True, prunable=True, watch=Watch.CHILDREN),
    Kind("Job", "batch/v1", "jobs", child=True, watch=Watch.CHILDREN),
    Kind("CronJob", "batch/v1", "cronjobs", child=True, prunable=True, watch=Watch.CHILDREN),
    Kind(
        "PodDisruptionBudget",
        "policy/v1",
        "poddisruptionbudgets",
        child=True,
        prunable=True,
        watch=Watch.CHILDREN,
    ),
    Kind(
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        "horizontalpodautoscalers",
        child=True,
        prunable=True,
        watch=Watch.CHILDREN,
    ),
    Kind(
        "HTTPRoute",
        "gateway.networking.k8s.io/v1",
        "httproutes",
        child=True,
        prunable=True,
        watch=Watch.CHILDREN,
    ),
    Kind(
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "networkpolicies",
        child=True,
        prunable=True,
        watch=Watch.CHILDREN,
    ),
    Kind("Pod", "v1", "pods", child=True, watch=Watch.CHILDREN),
    # Not children: read, or written as themselves. handlers.py watches the platforms and the
    # Gateways (a platform's parent) with handlers of their own.
    Kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
    Kind("Event", "v1", "events"),
    Kind("Gateway", "gateway.networking.k8s.io/v1", "gateways"),
    Kind("MessagingPlatform", "messaging.platform.dev/v1alpha1", "messagingplatforms"),
    # kopf's peering records: read to know whether this replica is the one that works.
    Kind("ClusterKopfPeering", "kopf.dev/v1", "clusterkopfpeerings"),
    Kind("KopfPeering", "kopf.dev/v1", "kopfpeerings"),
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}
CHILD_KINDS: tuple[str, ...] = tuple(kind.name for kind in KINDS if kind.child)
PRUNABLE_KINDS: frozenset[str] = frozenset(kind.name for kind in KINDS if kind.prunable)


def watched(watch: Watch) -> list[Kind]:
    return [kind for kind in KINDS if kind.watch is watch]
