"""Child names and label values fit Kubernetes' limits for the longest platform name the CRD
admits (MAX_PLATFORM_NAME), and one character more would not fit: the limit is the real one."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
import yaml
from messaging_operator.builders.autoscalers import build_autoscaler
from messaging_operator.builders.backups import (
    build_backup_cronjob,
    build_backup_job,
    build_restore_job,
    build_restore_migration_job,
)
from messaging_operator.builders.budgets import build_pod_disruption_budget
from messaging_operator.builders.canaries import build_canary_deployment, build_canary_service
from messaging_operator.builders.configmaps import build_configmap
from messaging_operator.builders.deployments import (
    build_deployment,
    build_service_env,
    image_for,
)
from messaging_operator.builders.infrastructure import (
    build_infrastructure,
    build_infrastructure_jobs,
)
from messaging_operator.builders.jobs import (
    build_migration_job,
    contract_job_for,
    migration_job_name,
)
from messaging_operator.builders.metadata import (
    CRONJOB_NAME_LIMIT,
    MAX_PLATFORM_NAME,
    NAME_LIMIT,
    STATEFULSET_NAME_LIMIT,
    fit_name,
)
from messaging_operator.builders.network_policies import build_network_policy
from messaging_operator.builders.routes import build_http_route
from messaging_operator.builders.secrets import build_secrets
from messaging_operator.builders.services import build_service
from messaging_operator.builders.web import build_web
from messaging_operator.contracts import build_contract_job
from messaging_operator.spec import SERVICE_NAMES, Platform

from tests.operator.conftest import REPO

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# Kinds whose name must be a 63-character DNS label, and the tighter limits of two others.
LABEL_NAMED = {"Service", "Job"}
LIMITS = {"CronJob": CRONJOB_NAME_LIMIT, "StatefulSet": STATEFULSET_NAME_LIMIT}
LONG_VERSION = "1.0.0-rc.20261207.build.4711.really-quite-long-but-a-valid-tag"


def every_child(platform: Platform) -> list[dict[str, Any]]:
    """Every object the builders make for `platform`, each optional one switched on."""
    objects = build_secrets(platform, {}, lambda kind: "x", None)
    objects += build_infrastructure(platform) + build_infrastructure_jobs(platform)
    objects += build_web(platform, with_route=True)
    for service in platform.spec.enabled_services:
        objects += [
            build_configmap(platform, service),
            build_service(platform, service),
            build_deployment(platform, service, service.version),
            build_canary_deployment(platform, service, service.version, 1),
            build_canary_service(platform, service),
            build_http_route(platform, service, 10),
        ]
        optional = [
            build_pod_disruption_budget(platform, service),
            build_autoscaler(platform, service),
            build_backup_cronjob(platform, service, service.version),
            build_network_policy(platform, service),
        ]
        if service.owns_database:
            env = build_service_env(platform, service, service.version)
            image = image_for(platform, service, service.version)
            backup = f"{service.name}/{service.version}/20261201T030000Z.dump"
            optional += [
                build_migration_job(platform, service, env, image),
                build_contract_job(platform, service, service.version),
                build_backup_job(platform, service, "0.9", service.version, backup),
                build_restore_job(platform, service, service.version, backup),
                build_restore_migration_job(platform, service, service.version, backup),
            ]
        objects += [obj for obj in optional if obj is not None]
    return objects


def label_values(obj: dict[str, Any]) -> list[str]:
    """Label values anywhere in the object (pod templates, selectors, CronJob templates)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("labels", "matchLabels") and isinstance(value, dict):
                    found.extend(str(v) for v in value.values())
                elif key == "selector" and isinstance(value, dict) and "matchLabels" not in value:
                    found.extend(str(v) for v in value.values() if isinstance(v, str))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(obj)
    return found


def misfits(obj: dict[str, Any]) -> list[str]:
    kind, name = obj["kind"], obj["metadata"]["name"]
    problems = []
    limit = LIMITS.get(kind, NAME_LIMIT if kind in LABEL_NAMED else 253)
    pattern = DNS_LABEL if kind in LABEL_NAMED else DNS_SUBDOMAIN
    if len(name) > limit or not pattern.match(name):
        problems.append(f"{kind} {name} ({len(name)} > {limit} or not a valid name)")
    for value in label_values(obj):
        if len(value) > NAME_LIMIT or not LABEL_VALUE.match(value):
            problems.append(f"{kind} {name}: label value {value!r}")
    return problems


def fullest(make_platform, name: str, version: str = "1.0.0") -> Platform:
    """Every service with autoscaling, a canary and backups: every kind of child exists."""
    services = {
        service: {"autoscaling": {"enabled": True}, "canary": {"version": "2.0.0"}}
        for service in SERVICE_NAMES
    }
    platform = make_platform(
        {
            "version": version,
            "services": services,
            "backups": {"schedule": "0 3 * * *"},
            "gateway": {"hostname": "chat.example.com", "gatewayRef": {"name": "public"}},
        }
    )
    return replace(platform, name=name)


def test_the_longest_name_admitted_fits_every_child(make_platform):
    platform = fullest(make_platform, "a" * MAX_PLATFORM_NAME, LONG_VERSION)
    children = every_child(platform)
    assert {obj["kind"] for obj in children} >= {
        "Secret", "ConfigMap", "Service", "Deployment", "StatefulSet", "Job", "CronJob",
        "PodDisruptionBudget", "HorizontalPodAutoscaler", "HTTPRoute", "NetworkPolicy",
    }  # fmt: skip
    assert [problem for obj in children for problem in misfits(obj)] == []


def test_one_character_more_would_not_fit(make_platform):
    platform = fullest(make_platform, "a" * (MAX_PLATFORM_NAME + 1))
    problems = [problem for obj in every_child(platform) for problem in misfits(obj)]
    assert any(problem.startswith("CronJob ") for problem in problems), problems


def test_the_crd_refuses_names_longer_than_the_operator_can_fit():
    crd = yaml.safe_load((REPO / "crds" / "messagingplatforms.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    rules = " ".join(rule["rule"] for rule in schema["x-kubernetes-validations"])
    assert f"self.metadata.name.size() <= {MAX_PLATFORM_NAME}" in rules


def test_names_with_a_version_are_shortened_with_a_hash_never_cut_into_one():
    platform_name = "a" * MAX_PLATFORM_NAME
    first = fit_name(f"{platform_name}-messages-migrate-{LONG_VERSION}-a")
    second = fit_name(f"{platform_name}-messages-migrate-{LONG_VERSION}-b")
    assert len(first) <= NAME_LIMIT
    assert len(second) <= NAME_LIMIT
    assert first != second
    assert first[:-9] == second[:-9]  # the readable head is the same, the hash tells them apart


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0-rc.1"])
def test_short_names_are_left_as_they_are(make_platform, version):
    platform = make_platform({})
    users = platform.spec.services["users"]
    name = migration_job_name(platform, users, version)
    assert name == f"chat-users-migrate-{version.replace('.', '-')}"
    assert contract_job_for(name) == f"{name}-contract"
