"""Strangler-fig routing: HTTPRoutes split each path between the monolith and the new service."""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.cluster

MONOLITH = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "monolith"},
    "spec": {"selector": {"app": "monolith"}, "ports": [{"port": 8000}]},
}


def _weights(kube, ns, service):
    route = kube.json("get", "httproute", f"chat-{service}", "-n", ns)
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def test_weights_follow_migration_and_the_legacy_backend_is_checked(
    kube, operator, make_namespace, minimal_sample
):
    ns = make_namespace()
    docs = [d for d in yaml.safe_load_all(minimal_sample) if d]
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    platform = next(d for d in docs if d["kind"] == "MessagingPlatform")
    platform["spec"]["gateway"]["legacy"] = {"service": "monolith", "port": 8000}
    platform["spec"]["services"] = {
        "relay": {"migration": {"weight": 100}},
        "media": {"migration": {"weight": 50}},
        **{
            name: {"migration": {"weight": 0}}
            for name in ("auth", "users", "messages", "groups", "notifications", "websocket")
        },
    }
    kube.apply(ns, json.dumps(gateway))
    kube.apply(ns, json.dumps(platform))
    kube.wait_for(
        lambda: kube.ready_reason(ns) == "LegacyServiceNotFound", 10, "the missing monolith"
    )

    kube.apply(ns, json.dumps(MONOLITH))
    kube.wait_for(
        lambda: (kube.platform(ns).get("status") or {}).get("phase") == "Ready", 90, "Ready"
    )
    assert _weights(kube, ns, "media") == {"chat-media": 50, "monolith": 50}
    assert _weights(kube, ns, "relay") == {"chat-relay": 100, "monolith": 0}
    assert _weights(kube, ns, "auth") == {"chat-auth": 0, "monolith": 100}
    row = kube.run("get", "mp", "chat", "-n", ns, "--no-headers").stdout.split()
    assert row[5] == "19%"  # (100 + 50) / 8, the MIGRATED column

    patch = {"spec": {"services": {"auth": {"migration": {"weight": 10}}}}}
    kube.run("patch", "mp", "chat", "-n", ns, "--type=merge", "-p", json.dumps(patch))
    kube.wait_for(
        lambda: _weights(kube, ns, "auth") == {"chat-auth": 10, "monolith": 90},
        10,
        "the auth route to shift 10% to the new service",
    )
    kube.wait_for(
        lambda: kube.run("get", "mp", "chat", "-n", ns, "--no-headers").stdout.split()[5] == "20%",
        10,
        "the MIGRATED column to follow",
    )
