from pathlib import Path

import pytest
import yaml
from messaging_operator.builders.endpoints import build_local_service, require_loopback
from messaging_operator.builders.metadata import PLATFORM_LABEL
from messaging_operator.spec import parse_spec

CRD = Path(__file__).resolve().parents[2] / "crds" / "messagingplatforms.yaml"


def test_local_service_names_the_loopback_process(platform):
    service = build_local_service(platform, platform.spec.services["auth"], "127.0.0.1")
    assert service["metadata"]["name"] == "chat-auth"
    assert service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "127.0.0.1"
    assert service["spec"]["ports"][0]["port"] == 8001


def test_local_service_has_no_selector_so_no_pod_addresses(platform):
    service = build_local_service(platform, platform.spec.services["media"], "127.0.0.1")
    assert "selector" not in service["spec"]


def test_local_service_is_owned_and_labelled_like_the_cluster_one(platform):
    service = build_local_service(platform, platform.spec.services["users"], "127.0.0.1")
    assert service["metadata"]["labels"][PLATFORM_LABEL] == "chat"
    assert service["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_ipv6_loopback_is_accepted():
    assert require_loopback("::1") == "::1"


def test_any_127_address_is_loopback():
    assert require_loopback("127.0.0.2") == "127.0.0.2"


@pytest.mark.parametrize("address", ["10.244.0.5", "192.168.1.10", "0.0.0.0", "::"])  # noqa: S104
def test_non_loopback_addresses_are_refused(platform, address):
    with pytest.raises(ValueError, match="not a loopback address"):
        build_local_service(platform, platform.spec.services["auth"], address)


def test_a_name_is_refused(platform):
    with pytest.raises(ValueError, match="not an IP address"):
        build_local_service(platform, platform.spec.services["auth"], "localhost.example.com")


def test_endpoints_default_to_cluster():
    spec = parse_spec({"version": "1.0.0"})
    assert not spec.endpoints.local
    assert spec.endpoints.address is None


def test_local_mode_parses_its_address():
    spec = parse_spec({"version": "1", "endpoints": {"mode": "local", "address": "127.0.0.1"}})
    assert spec.endpoints.local
    assert spec.endpoints.address == "127.0.0.1"


def test_crd_admits_only_loopback_local_addresses():
    crd = yaml.safe_load(CRD.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    endpoints = spec["properties"]["endpoints"]
    assert endpoints["properties"]["mode"]["enum"] == ["cluster", "local"]
    rules = " ".join(v["rule"] for v in endpoints["x-kubernetes-validations"])
    assert "ip(self.address).isLoopback()" in rules
