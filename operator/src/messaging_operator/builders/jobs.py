"""Jobs: the per-service, per-version schema migration, and the shared Job shape."""

from __future__ import annotations

from typing import Any

from messaging_operator.builders.metadata import (
    CONTAINER_TMP,
    NON_ROOT_UID,
    child_name,
    dns_label,
    fit_name,
    object_meta,
    restricted_container_security,
    restricted_pod_security,
)
from messaging_operator.builders.secrets import signing_key_volume
from messaging_operator.spec import Platform, ServiceSpec

# Retries are for a database still starting: `migrate` exits 75 (EX_TEMPFAIL) for that.
MIGRATION_BACKOFF_LIMIT = 6
TEMPORARY_FAILURE_EXIT_CODE = 75
# Infrastructure Jobs retry while their server is still starting; 6 tries span minutes.
SETUP_BACKOFF_LIMIT = 6


def job_object(
    platform: Platform,
    name: str,
    component: str,
    container: dict[str, Any],
    *,
    uid: int,
    version: str | None = None,
    pod_annotations: dict[str, str] | None = None,
    backoff_limit: int = SETUP_BACKOFF_LIMIT,
    fail_fast: bool = False,
    volumes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    container = {
        "imagePullPolicy": "IfNotPresent",
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": CONTAINER_TMP}],
        **container,
    }
    meta = object_meta(platform, name, component, version=version)
    template_meta: dict[str, Any] = {"labels": meta["labels"]}
    if pod_annotations:
        template_meta["annotations"] = dict(pod_annotations)
    spec: dict[str, Any] = {
        "backoffLimit": backoff_limit,
        "template": {
            "metadata": template_meta,
            "spec": {
                "restartPolicy": "Never",
                "securityContext": restricted_pod_security(uid),
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}, *(volumes or [])],
            },
        },
    }
    if fail_fast:
        # Any exit but "try again later" is a real failure: fail the Job at once, so the
        # status says so in seconds rather than after minutes of pointless retries.
        spec["podFailurePolicy"] = {
            "rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "operator": "NotIn",
                        "values": [0, TEMPORARY_FAILURE_EXIT_CODE],
                    },
                },
            ]
        }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def migration_job_name(platform: Platform, service: ServiceSpec, version: str) -> str:
    return fit_name(child_name(platform, f"{service.name}-migrate-{dns_label(version)}"))


def build_migration_job(
    platform: Platform, service: ServiceSpec, env: list[dict[str, Any]], image: str
) -> dict[str, Any] | None:
    """`messaging-<name> migrate` at the service's target version; None for stateless services.

    No ttlSecondsAfterFinished: the finished Job is the record that this version's schema is
    in place, and deleting it would make the next reconcile run the migration again.
    """
    if not service.owns_database:
        return None
    # The migration loads the service's whole settings: auth's include its signing keys.
    key_volumes, key_mounts = signing_key_volume(platform, service.name)
    return job_object(
        platform,
        migration_job_name(platform, service, service.version),
        f"{service.name}-migrate",
        {
            "name": "migrate",
            "image": image,
            "command": [f"messaging-{service.name}", "migrate"],
            "env": env,
            "envFrom": [{"configMapRef": {"name": child_name(platform, service.name)}}],
            "volumeMounts": [{"name": "tmp", "mountPath": CONTAINER_TMP}, *key_mounts],
        },
        uid=NON_ROOT_UID,
        version=service.version,
        pod_annotations=service.pod_annotations,
        backoff_limit=MIGRATION_BACKOFF_LIMIT,
        fail_fast=True,
        volumes=key_volumes,
    )


def contract_job_for(migration_job: str) -> str:
    """The contract Job of a migration Job (messaging_operator.contracts), by name."""
    return fit_name(f"{migration_job}-contract")
