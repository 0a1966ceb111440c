"""The local stack routes to loopback only: the operator's local mode makes ExternalName Services on
127.0.0.1 (no selector, so no EndpointSlice with kwok's pod addresses), the CRD refuses any other
address, and every server in the gateway's HAProxy config is a loopback address.

Uses the stack `make up` runs (tests/stack/conftest.py runs hack/up.sh if part of it is down).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess

import pytest
import yaml
from testkit.kube import CACHE, KUBECONFIG, REPO, Kubectl, kube_bin_dir

pytestmark = [pytest.mark.cluster, pytest.mark.infra, pytest.mark.usefixtures("local_stack")]

NAMESPACE = os.environ.get("MP_DEMO_NAMESPACE", "demo")
SERVICES = ("auth", "users", "messages", "groups", "media", "relay", "notifications", "websocket")
HAPROXY_CONFIG = CACHE / "stack" / "gateway" / "haproxy.cfg"
CONTROLLER = "messaging.platform.dev/local-haproxy"
START_THE_STACK = "start the local stack with `make up`"


@pytest.fixture(scope="module")
def kubectl() -> Kubectl:
    if not KUBECONFIG.exists():
        pytest.fail(f"no kubeconfig at {KUBECONFIG}: {START_THE_STACK}", pytrace=False)
    return Kubectl(f"{kube_bin_dir()}/kubectl", str(KUBECONFIG))


@pytest.fixture(scope="module")
def services(kubectl: Kubectl) -> dict[str, dict]:
    found = {}
    for name in SERVICES:
        raw = kubectl.run(
            "get", "service", f"chat-{name}", "-n", NAMESPACE, "-o", "json", check=False
        )
        if not raw:
            pytest.fail(f"no Service {NAMESPACE}/chat-{name}: {START_THE_STACK}", pytrace=False)
        found[name] = json.loads(raw)
    return found


def test_every_service_is_an_external_name_on_loopback(services: dict[str, dict]) -> None:
    for name, service in services.items():
        spec = service["spec"]
        assert spec["type"] == "ExternalName", f"chat-{name} is {spec['type']}"
        assert ipaddress.ip_address(spec["externalName"]).is_loopback, spec["externalName"]
        assert "selector" not in spec, f"chat-{name} selects pods"


def test_no_endpoint_slice_holds_pod_addresses_for_them(
    kubectl: Kubectl, services: dict[str, dict]
) -> None:
    names = ",".join(f"chat-{name}" for name in services)
    slices = kubectl.json(
        "get", "endpointslices", "-n", NAMESPACE, "-l", f"kubernetes.io/service-name in ({names})"
    )
    assert slices["items"] == []


def test_the_crd_refuses_a_non_loopback_local_address(kubectl: Kubectl) -> None:
    body = next(
        doc
        for doc in yaml.safe_load_all((REPO / "hack/stack/platform.yaml").read_text())
        if doc["kind"] == "MessagingPlatform"
    )
    body["metadata"]["name"] = "refused"
    body["spec"]["endpoints"] = {"mode": "local", "address": "10.244.0.3"}
    done = subprocess.run(
        [*kubectl.base, "apply", "--dry-run=server", "-n", NAMESPACE, "-f", "-"],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0, "a local address off the loopback was admitted"
    assert "a loopback IP" in done.stderr, done.stderr


def test_the_crd_admits_a_loopback_local_address(kubectl: Kubectl) -> None:
    body = next(
        doc
        for doc in yaml.safe_load_all((REPO / "hack/stack/platform.yaml").read_text())
        if doc["kind"] == "MessagingPlatform"
    )
    body["metadata"]["name"] = "admitted"
    body["spec"]["endpoints"] = {"mode": "local", "address": "127.0.0.2"}
    done = kubectl.run(
        "apply", "--dry-run=server", "-n", NAMESPACE, "-f", "-", stdin=json.dumps(body)
    )
    assert "admitted" in done


def test_the_gateway_accepted_every_route(kubectl: Kubectl, services: dict[str, dict]) -> None:
    for name in services:
        route = kubectl.json("get", "httproute", f"chat-{name}", "-n", NAMESPACE)
        ours = [
            p
            for p in route.get("status", {}).get("parents", [])
            if p["controllerName"] == CONTROLLER
        ]
        assert ours, f"HTTPRoute chat-{name} not picked up by the gateway: {START_THE_STACK}"
        conditions = {c["type"]: c["status"] for c in ours[0]["conditions"]}
        assert conditions == {"Accepted": "True", "ResolvedRefs": "True"}, (name, ours[0])


def test_the_gateway_configures_only_loopback_servers() -> None:
    if not HAPROXY_CONFIG.exists():
        pytest.fail(f"no gateway config at {HAPROXY_CONFIG}: {START_THE_STACK}", pytrace=False)
    servers = re.findall(
        r"^\s*server \S+ \[?([0-9a-fA-F.:]+?)\]?:\d+", HAPROXY_CONFIG.read_text(), re.M
    )
    assert servers, "no servers in the gateway config"
    assert all(ipaddress.ip_address(address).is_loopback for address in servers), servers
