"""Bad MessagingPlatforms are refused by the API server itself, with a message that says how to
fix them; every value the operator would carry into a child object is checked here, so nothing
admitted fails later when the children are applied.

The schema under test is this checkout's crds/messagingplatforms.yaml, installed under an API
group of its own for the module: other runs on the same API server (re-)apply their own version
of the CRD, and must not change what is tested here. The rules do not mention the group.
Objects are created with a server-side dry run: full validation, nothing stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from messaging_operator.builders.metadata import MAX_PLATFORM_NAME

from tests.operator.cluster.conftest import REPO, Kube, wait_for

pytestmark = pytest.mark.cluster

CRD = REPO / "crds" / "messagingplatforms.yaml"

# Each case: (spec fields, or a metadata.name, the message the API server must answer with).
REFUSED: dict[str, tuple[dict[str, Any] | str, str]] = {
    # metadata.name: it begins every child's name
    "name one character too long": (
        "a" * (MAX_PLATFORM_NAME + 1),
        "metadata.name must be at most 31 characters long: it begins every child's name",
    ),
    "name with a dot": ("chat.v2", "metadata.name must start with a lowercase letter"),
    "name starting with a digit": ("1chat", "metadata.name must start with a lowercase letter"),
    # versions: image tags that are also label values
    "version ending with a dash": (
        {"version": "1.0.0-"},
        "version must be an image tag that is also a label value",
    ),
    "version longer than a label value": (
        {"version": "1." + "0" * 62},
        "Too long: may not be more than 63",
    ),
    "service version with a plus": (
        {"services": {"auth": {"version": "1.0.0+build"}}},
        "services.<name>.version must be an image tag that is also a label value",
    ),
    "canary version with a space": (
        {"services": {"auth": {"canary": {"version": "1.1 beta"}}}},
        "canary.version must be an image tag that is also a label value",
    ),
    "web version starting with a dot": (
        {"web": {"version": ".1"}},
        "web.version must be an image tag that is also a label value",
    ),
    # images
    "image repository with capitals in its path": (
        {"imageRepository": "ghcr.io/Acme/messaging"},
        "imageRepository must be where the images are pulled from",
    ),
    "image repository with a scheme": (
        {"imageRepository": "https://ghcr.io/acme/messaging"},
        "imageRepository must be where the images are pulled from",
    ),
    "image repository with a tag": (
        {"imageRepository": "ghcr.io/acme/messaging:1.0.0"},
        "imageRepository must be where the images are pulled from",
    ),
    "image repository on Docker Hub with capitals": (
        {"imageRepository": "Acme/messaging"},
        "imageRepository must be where the images are pulled from",
    ),
    # gateway
    "hostname with a scheme": (
        {"gateway": {"hostname": "https://chat.example.com", "gatewayRef": {"name": "public"}}},
        "gateway.hostname must be a lowercase DNS name",
    ),
    "hostname in capitals": (
        {"gateway": {"hostname": "Chat.Example.com", "gatewayRef": {"name": "public"}}},
        "gateway.hostname must be a lowercase DNS name",
    ),
    "hostname that is an IP address": (
        {"gateway": {"hostname": "10.0.0.1", "gatewayRef": {"name": "public"}}},
        "gateway.hostname must be a lowercase DNS name",
    ),
    "gateway name with a slash": (
        {"gateway": {"gatewayRef": {"name": "gateway-system/public"}}},
        "gateway.gatewayRef.name must be a Gateway's name",
    ),
    "gateway namespace with a dot": (
        {"gateway": {"gatewayRef": {"name": "public", "namespace": "gateway.system"}}},
        "gateway.gatewayRef.namespace must be a namespace name",
    ),
    "gateway data plane namespace with a dot": (
        {
            "gateway": {
                "gatewayRef": {"name": "public"},
                "dataPlane": {"namespace": "envoy.gateway"},
            }
        },
        "gateway.dataPlane.namespace must be a namespace name",
    ),
    "legacy service in capitals": (
        {
            "gateway": {
                "gatewayRef": {"name": "public"},
                "legacy": {"service": "Monolith", "port": 8000},
            }
        },
        "gateway.legacy.service must be a Service name",
    ),
    # analysis
    "prometheus URL without a scheme": (
        {"analysis": {"prometheus": {"url": "prometheus.monitoring:9090"}}},
        "analysis.prometheus.url must be Prometheus' http(s) URL",
    ),
    "canary interval in days": (
        {"services": {"auth": {"canary": {"version": "1.1.0", "interval": "1d"}}}},
        "canary.interval must be a duration above zero",
    ),
    "keep-warm in words": (
        {"services": {"auth": {"canary": {"version": "1.1.0", "keepWarm": "10 minutes"}}}},
        "canary.keepWarm must be a duration in s, m and h",
    ),
    "migration interval of zero": (
        {"services": {"auth": {"migration": {"steps": [10, 100], "interval": "0m"}}}},
        "migration.interval must be a duration above zero",
    ),
    # pods
    "pod annotation key with a space": (
        {"services": {"auth": {"podAnnotations": {"my note": "x"}}}},
        "podAnnotations keys must be annotation keys",
    ),
    "memory request that is not a quantity": (
        {"services": {"auth": {"resources": {"requests": {"memory": "512MB"}}}}},
        "resources: each amount must be a quantity of zero or more",
    ),
    "negative cpu limit": (
        {"services": {"auth": {"resources": {"limits": {"cpu": "-1"}}}}},
        "resources: each amount must be a quantity of zero or more",
    ),
    "request above its limit": (
        {
            "services": {
                "auth": {
                    "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}
                }
            }
        },
        "resources.requests must not exceed resources.limits",
    ),
    "unknown resource": (
        {"services": {"auth": {"resources": {"requests": {"gpu": "1"}}}}},
        "resources.requests takes cpu, memory and ephemeral-storage",
    ),
    # storage
    "storage in gigabytes spelled out": (
        {"postgres": {"storage": "10GB"}},
        "storage must be a size above zero, e.g. 10Gi",
    ),
    "storage of zero": ({"redis": {"storage": "0Gi"}}, "storage must be a size above zero"),
    "secret name with a slash": (
        {"postgres": {"mode": "external", "secretRef": {"name": "team/pg"}}},
        "secretRef.name must be a Secret's name",
    ),
    "bucket with two dots": (
        {"objectStorage": {"bucket": "media..files"}},
        "objectStorage.bucket must be an S3 bucket name",
    ),
    "bucket in capitals": (
        {"objectStorage": {"bucket": "Media"}},
        "objectStorage.bucket must be an S3 bucket name",
    ),
    # backups
    "schedule hour 25": (
        {"backups": {"schedule": "0 25 * * *"}},
        "backups.schedule must be a five-field cron schedule in UTC",
    ),
    "schedule with a time zone prefix": (
        {"backups": {"schedule": "TZ=Europe/Paris 0 3 * * *"}},
        "backups.schedule must be a five-field cron schedule in UTC",
    ),
    "schedule with six fields": (
        {"backups": {"schedule": "0 0 3 * * *"}},
        "backups.schedule must be a five-field cron schedule in UTC",
    ),
    "smtp host with a port": (
        {"notifications": {"smtp": {"host": "smtp.example.com:587"}}},
        "notifications.smtp.host must be a host name or IP address",
    ),
    # rules that were already there
    "weight over 100": (
        {"services": {"auth": {"migration": {"weight": 150}}}},
        "migration.weight must be between 0 and 100",
    ),
    "canary steps going down": (
        {"services": {"messages": {"canary": {"version": "1.1.0", "steps": [50, 10, 100]}}}},
        "canary.steps must be in ascending order",
    ),
    "migration weight and steps together": (
        {"services": {"media": {"migration": {"weight": 10, "steps": [10, 50]}}}},
        "migration takes weight (hold that share) or steps (walk them), not both",
    ),
    "canary weight over 100": (
        {"services": {"messages": {"canary": {"version": "1.1.0", "weight": 120}}}},
        "canary.weight must be between 0 and 100",
    ),
    "canary match header name with a space": (
        {
            "services": {
                "auth": {
                    "canary": {
                        "version": "1.1.0",
                        "match": [{"headers": [{"name": "X Canary", "value": "always"}]}],
                    }
                }
            }
        },
        "canary.match header names are HTTP field names",
    ),
    "canary gate that is not a step": (
        {"services": {"auth": {"canary": {"version": "1.1.0", "steps": [10, 100], "gates": [50]}}}},
        "canary.gates must be weights from canary.steps",
    ),
    "migration gate without steps": (
        {"services": {"media": {"migration": {"weight": 10, "gates": [50]}}}},
        "migration.gates must be weights from migration.steps",
    ),
    "preview with a hostname and a path": (
        {
            "services": {
                "auth": {
                    "canary": {
                        "version": "1.1.0",
                        "preview": {"hostname": "preview.chat.example.com", "pathPrefix": "/p"},
                    }
                }
            }
        },
        "canary.preview takes hostname or pathPrefix, one of them",
    ),
    "preview path under the API": (
        {
            "services": {
                "auth": {"canary": {"version": "1.1.0", "preview": {"pathPrefix": "/api/x"}}}
            }
        },
        "canary.preview.pathPrefix must be a path of its own",
    ),
    "notification webhook that is not a URL": (
        {"rollout": {"notifications": [{"url": "hooks.example.com/rollouts"}]}},
        "rollout.notifications url must be an http(s) URL",
    ),
    "canary mirror of no requests": (
        {"services": {"auth": {"canary": {"version": "1.1.0", "mirror": {"percent": 0}}}}},
        "canary.mirror.percent must be between 1 and 100",
    ),
    "backup schedule that is not cron": (
        {"backups": {"schedule": "every night", "retain": 7}},
        "backups.schedule must be a five-field cron schedule",
    ),
    "backup retain zero": (
        {"backups": {"schedule": "0 3 * * *", "retain": 0}},
        "spec.backups.retain in body should be greater than or equal to 1",
    ),
    "restore of something that is not a backup name": (
        {"services": {"auth": {"restore": {"backup": "latest"}}}},
        "restore.backup must be a backup name",
    ),
    "restore of another service's backup": (
        {"services": {"auth": {"restore": {"backup": "users/1.0.0/20261201T030000Z.dump"}}}},
        "services.<name>.restore.backup must be one of that service's backups",
    ),
    "restore of a service without a database": (
        {"services": {"relay": {"restore": {"backup": "relay/1.0.0/20261201T030000Z.dump"}}}},
        "only auth, users, messages, groups and media own a database to restore",
    ),
    "websocket with two workers": (
        {"services": {"websocket": {"workers": 2}}},
        "services.websocket.workers must be 1",
    ),
    "seventeen workers": (
        {"services": {"users": {"workers": 17}}},
        "should be less than or equal to 16",
    ),
    "unknown service": (
        {"services": {"chat": {"replicas": 2}}},
        "unknown service name; known services: auth, users, messages",
    ),
    "external postgres without its secret": (
        {"postgres": {"mode": "external"}},
        "postgres.mode external needs postgres.secretRef",
    ),
    "external object storage without its secret": (
        {"objectStorage": {"mode": "external"}},
        "objectStorage.mode external needs objectStorage.secretRef",
    ),
    "unknown deletion policy": (
        {"deletionPolicy": "Keep"},
        'Unsupported value: "Keep": supported values: "Retain", "Delete"',
    ),
    "autoscaling min above max": (
        {
            "services": {
                "auth": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}
            }
        },
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
    ),
    "missing version": ({"version": None}, "spec.version: Required value"),
}

# Values at the edge of each rule that must still be admitted: a rule too strict fails here.
ADMITTED: dict[str, dict[str, Any] | str] = {
    "the longest name": "chat-" + "x" * (MAX_PLATFORM_NAME - 5),
    "a version with every allowed character": {"version": "1.0.0-rc.1_build.5"},
    "sixteen workers, and one for websocket": {
        "services": {"messages": {"workers": 16}, "websocket": {"workers": 1}}
    },
    "a registry with a port": {"imageRepository": "registry.local:5000/team/messaging"},
    "localhost": {"imageRepository": "localhost/messaging"},
    "Docker Hub": {"imageRepository": "acme/messaging-images"},
    "a trailing slash": {"imageRepository": "ghcr.io/acme/messaging/"},
    "a wildcard hostname": {"gateway": {"hostname": "*.example.com", "gatewayRef": {"name": "p"}}},
    "a named gateway elsewhere": {
        "gateway": {
            "gatewayRef": {
                "name": "public.v1",
                "namespace": "gateway-system",
                "sectionName": "https",
            },
            "legacy": {"service": "monolith", "port": 8000},
        }
    },
    "an Envoy Gateway data plane": {
        "gateway": {
            "gatewayRef": {"name": "public"},
            "dataPlane": {
                "namespace": "envoy-gateway-system",
                "podLabels": {"gateway.envoyproxy.io/owning-gateway-name": "public"},
            },
        }
    },
    "https prometheus": {"analysis": {"prometheus": {"url": "https://prom.example.com/prom"}}},
    "durations": {"services": {"auth": {"canary": {"version": "2", "interval": "1h30m"}}}},
    "no keep-warm": {"services": {"auth": {"canary": {"version": "2", "keepWarm": "0s"}}}},
    "gated steps": {
        "services": {
            "auth": {"canary": {"version": "2", "steps": [10, 50, 100], "gates": [50, 100]}},
            "media": {"migration": {"steps": [10, 100], "gates": [100], "approved": 100}},
        }
    },
    "blue-green by path": {
        "services": {"auth": {"canary": {"version": "2", "preview": {"pathPrefix": "/preview"}}}}
    },
    "signed slack notifications": {
        "rollout": {
            "notifications": [
                {"url": "https://hooks.example.com/a", "format": "slack"},
                {"url": "http://receiver.tools:8080/x", "secretRef": {"name": "hook", "key": "k"}},
            ]
        }
    },
    "mirrored reads": {
        "services": {"auth": {"canary": {"version": "2", "weight": 0, "mirror": {"percent": 50}}}}
    },
    "testers by header and cookie": {
        "services": {
            "auth": {
                "canary": {
                    "version": "2",
                    "match": [
                        {"headers": [{"name": "X-Canary", "value": "always"}]},
                        {
                            "headers": [
                                {
                                    "name": "Cookie",
                                    "value": "(^|; )canary=always(;|$)",
                                    "type": "RegularExpression",
                                }
                            ]
                        },
                    ],
                }
            }
        }
    },
    "annotations": {"services": {"auth": {"podAnnotations": {"prometheus.io/scrape": "true"}}}},
    "equal request and limit": {
        "services": {
            "auth": {
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"memory": "1Gi"},
                }
            }
        }
    },
    "integer quantities": {"services": {"auth": {"resources": {"requests": {"cpu": 1}}}}},
    "fractional storage": {"postgres": {"storage": "1.5Gi"}, "redis": {"storage": 1073741824}},
    "a dotted bucket": {"objectStorage": {"bucket": "media.example-files"}},
    "a rich schedule": {"backups": {"schedule": "*/15 0-6,22 1-31/2 JAN-mar mon-fri"}},
    "a descriptor schedule": {"backups": {"schedule": "@daily"}},
    "an smtp IP": {"notifications": {"smtp": {"host": "192.0.2.10", "port": 587}}},
}


def platform(group: str, case: dict[str, Any] | str) -> dict[str, Any]:
    name, spec = (case, {}) if isinstance(case, str) else ("bad", case)
    body = {
        "apiVersion": f"{group}/v1alpha1",
        "kind": "MessagingPlatform",
        "metadata": {"name": name},
        "spec": {"version": "1.0.0", **spec},
    }
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    return body


@pytest.fixture(scope="module")
def group(kube: Kube) -> Iterator[str]:
    """This checkout's CRD under a group of its own (see the module docstring)."""
    name = f"v{uuid.uuid4().hex[:8]}.validation.messaging.platform.dev"
    crd = yaml.safe_load(CRD.read_text())
    crd["metadata"]["name"] = f"{crd['spec']['names']['plural']}.{name}"
    crd["spec"]["group"] = name
    for unique in ("shortNames", "categories"):
        crd["spec"]["names"].pop(unique, None)
    kube.run("apply", "--server-side", "-f", "-", stdin=json.dumps(crd))
    crd_name = crd["metadata"]["name"]

    def established() -> bool:
        conditions = kube.json("get", "crd", crd_name).get("status", {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    try:
        wait_for(established, 30, f"CRD {crd_name} established")
        yield name
    finally:
        kube.run("delete", "crd", crd_name, "--wait=false", check=False)


def dry_run_create(kube: Kube, namespace: str, body: dict[str, Any]):
    return kube.run(
        "create",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=json.dumps(body),
        check=False,
    )


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_a_message_that_says_how_to_fix_it(kube, module_namespace, group, case):
    fields, message = REFUSED[case]
    result = dry_run_create(kube, module_namespace, platform(group, fields))
    assert result.returncode != 0, f"{case}: admitted"
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("case", sorted(ADMITTED))
def test_values_at_the_edge_of_each_rule_are_admitted(kube, module_namespace, group, case):
    result = dry_run_create(kube, module_namespace, platform(group, ADMITTED[case]))
    assert result.returncode == 0, result.stderr


def test_the_longest_admitted_name_is_the_limit():
    assert len(str(ADMITTED["the longest name"])) == MAX_PLATFORM_NAME


def test_defaults_are_filled_in_by_the_server(kube, module_namespace, group):
    body = platform(group, {"services": {"auth": {}}})
    result = kube.run(
        "create", "--dry-run=server", "-n", module_namespace, "-f", "-", "-o", "json",
        stdin=json.dumps(body),
    )  # fmt: skip
    spec = json.loads(result.stdout)["spec"]
    assert spec["deletionPolicy"] == "Retain"
    assert spec["postgres"]["mode"] == "managed"
    assert spec["services"]["auth"]["replicas"] == 2
    # No server default for the migration: weight and steps exclude each other, and the
    # operator reads an absent migration as weight 100.
    assert "migration" not in spec["services"]["auth"]
