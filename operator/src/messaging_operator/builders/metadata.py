"""Names, labels and metadata shared by every child object."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from messaging_operator.spec import Platform

MANAGED_BY = "messaging-operator"
PLATFORM_LABEL = "messaging.platform.dev/platform"
COMPONENT_LABEL = "app.kubernetes.io/name"
VERSION_LABEL = "app.kubernetes.io/version"
# Set on every object we apply: a hash of what we asked for, to skip applies that change nothing.
APPLIED_HASH_ANNOTATION = "messaging.platform.dev/applied-hash"


# Kubernetes' limits on what carries a platform's name. Label values and the names of Services
# and Jobs (their pods carry the name as a label) take 63 characters; a CronJob 52, since its
# Jobs add an 11-character suffix; a StatefulSet 52, since its pods' controller-revision-hash
# label adds one too.
NAME_LIMIT = 63
CRONJOB_NAME_LIMIT = 52
STATEFULSET_NAME_LIMIT = 52
# The longest platform name whose fixed child names all fit without shortening: the CronJob
# `<name>-notifications-backup` (21 more characters) under CRONJOB_NAME_LIMIT. The CRD refuses
# longer names at admission (metadata.name rule); tests/operator/test_names.py proves the fit.
MAX_PLATFORM_NAME = 31
# Names that carry a version or a digest (Jobs) can still be too long: fit_name shortens them.
HASH_LENGTH = 8


def child_name(platform: Platform, component: str) -> str:
    return f"{platform.name}-{component}"


def fit_name(name: str, limit: int = NAME_LIMIT) -> str:
    """`name` itself when it fits, else its head and a hash of the whole name: two long names
    never share a shortened name (a plain cut would, e.g. two versions with a long common prefix,
    and a create-only Job of the one would pass for the other's)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    return f"{name[: limit - HASH_LENGTH - 1].rstrip('-.')}-{digest}"


def dns_label(value: str) -> str:
    """A version string as it may appear inside an object name (RFC 1123 label chars)."""
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")


def selector_labels(platform: Platform, component: str) -> dict[str, str]:
    # Deliberately small and never changed: Deployment and StatefulSet selectors are immutable.
    return {PLATFORM_LABEL: platform.name, COMPONENT_LABEL: component}


def labels(platform: Platform, component: str, version: str | None = None) -> dict[str, str]:
    result = {
        **selector_labels(platform, component),
        "app.kubernetes.io/instance": child_name(platform, component),
        "app.kubernetes.io/part-of": "messaging-platform",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        result[VERSION_LABEL] = version
    return result


def object_meta(
    platform: Platform,
    name: str,
    component: str,
    *,
    version: str | None = None,
    owned: bool = True,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": platform.namespace,
        "labels": labels(platform, component, version),
    }
    if owned:
        meta["ownerReferences"] = [platform.owner_reference()]
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def content_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


# Pod security: the services run as an unprivileged user on a read-only root filesystem.
NON_ROOT_UID = 10001


def restricted_container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def restricted_pod_security(uid: int = NON_ROOT_UID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# A path inside the container (an emptyDir), not on this machine: the root FS is read-only.
CONTAINER_TMP = "/tmp"  # noqa: S108
