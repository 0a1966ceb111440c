"""Bad MessagingPlatforms are refused by the API server itself, with a message a person reads."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.cluster

BASE = """
apiVersion: messaging.platform.dev/v1alpha1
kind: MessagingPlatform
metadata: {name: bad}
spec:
  version: "1.0.0"
"""

CASES = {
    "weight over 100": (
        "  services: {auth: {migration: {weight: 150}}}",
        "migration.weight must be between 0 and 100",
    ),
    "negative weight": (
        "  services: {auth: {migration: {weight: -5}}}",
        "migration.weight must be between 0 and 100",
    ),
    "canary steps going down": (
        "  services: {messages: {canary: {version: '1.1.0', steps: [50, 10, 100]}}}",
        "canary.steps must be in ascending order",
    ),
    "canary step over 100": (
        "  services: {messages: {canary: {version: '1.1.0', steps: [10, 150]}}}",
        "canary.steps are traffic weights and must each be between 0 and 100",
    ),
    "migration weight and steps together": (
        "  services: {media: {migration: {weight: 10, steps: [10, 50]}}}",
        "migration takes weight (hold that share) or steps (walk them), not both",
    ),
    "migration steps going down": (
        "  services: {media: {migration: {steps: [50, 10]}}}",
        "migration.steps must be in ascending order",
    ),
    "canary weight and steps together": (
        "  services: {messages: {canary: {version: '1.1.0', weight: 10, steps: [10, 50]}}}",
        "canary takes weight (hold that share) or steps (walk them), not both",
    ),
    "canary weight over 100": (
        "  services: {messages: {canary: {version: '1.1.0', weight: 120}}}",
        "canary.weight must be between 0 and 100",
    ),
    "backup schedule that is not cron": (
        "  backups: {schedule: 'every night', retain: 7}",
        "backups.schedule must be a five-field cron schedule",
    ),
    "backup retain zero": (
        "  backups: {schedule: '0 3 * * *', retain: 0}",
        "spec.backups.retain in body should be greater than or equal to 1",
    ),
    "restore of something that is not a backup name": (
        "  services: {auth: {restore: {backup: 'latest'}}}",
        "restore.backup must be a backup name",
    ),
    "restore of another service's backup": (
        "  services: {auth: {restore: {backup: 'users/1.0.0/20261201T030000Z.dump'}}}",
        "services.<name>.restore.backup must be one of that service's backups",
    ),
    "restore of a service without a database": (
        "  services: {relay: {restore: {backup: 'relay/1.0.0/20261201T030000Z.dump'}}}",
        "only auth, users, messages, groups and media own a database to restore",
    ),
    "unknown service": (
        "  services: {chat: {replicas: 2}}",
        "unknown service name; known services: auth, users, messages",
    ),
    "external postgres without its secret": (
        "  postgres: {mode: external}",
        "postgres.mode external needs postgres.secretRef",
    ),
    "external object storage without its secret": (
        "  objectStorage: {mode: external}",
        "objectStorage.mode external needs objectStorage.secretRef",
    ),
    "unknown deletion policy": (
        "  deletionPolicy: Keep",
        'Unsupported value: "Keep": supported values: "Retain", "Delete"',
    ),
    "autoscaling min above max": (
        "  services: {auth: {autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 2}}}",
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_a_readable_message(kube, module_namespace, case):
    extra, message = CASES[case]
    result = kube.run(
        "apply", "-n", module_namespace, "-f", "-", stdin=BASE + extra + "\n", check=False
    )
    assert result.returncode != 0, f"{case}: accepted"
    assert message in result.stderr, result.stderr


def test_missing_version_is_refused(kube, module_namespace):
    text = BASE.replace('  version: "1.0.0"\n', "  imageRepository: x\n")
    result = kube.run("apply", "-n", module_namespace, "-f", "-", stdin=text, check=False)
    assert result.returncode != 0
    assert "spec.version: Required value" in result.stderr


def test_defaults_are_filled_in_by_the_server(kube, module_namespace):
    kube.run("apply", "-n", module_namespace, "-f", "-", stdin=BASE + "  services: {auth: {}}\n")
    spec = kube.platform(module_namespace, "bad")["spec"]
    assert spec["deletionPolicy"] == "Retain"
    assert spec["postgres"]["mode"] == "managed"
    assert spec["services"]["auth"]["replicas"] == 2
    # No server default for the migration: weight and steps exclude each other, and the
    # operator reads an absent migration as weight 100.
    assert "migration" not in spec["services"]["auth"]
    kube.run("delete", "mp", "bad", "-n", module_namespace)
