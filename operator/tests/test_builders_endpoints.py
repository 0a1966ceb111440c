import pytest
from messaging_operator.builders.endpoints import build_local_service, require_loopback
from messaging_operator.builders.metadata import PLATFORM_LABEL


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
