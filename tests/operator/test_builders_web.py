from messaging_operator.builders.web import (
    build_web,
    build_web_deployment,
    build_web_route,
)


def test_web_client_is_served_at_the_root_path(platform):
    route = build_web_route(platform)
    assert route is not None
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0]["name"] == "chat-web"
    assert route["spec"]["parentRefs"][0]["name"] == "public"


def test_web_image_follows_the_platform_version_unless_it_names_its_own(make_platform):
    default = build_web_deployment(make_platform())
    assert default is not None
    container = default["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/messaging/web:1.0.0"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    pinned = build_web_deployment(make_platform({"web": {"version": "2.0.0", "replicas": 1}}))
    assert pinned is not None
    assert pinned["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/web:2.0.0")
    assert pinned["spec"]["replicas"] == 1


def test_disabled_web_client_builds_nothing(make_platform):
    assert build_web(make_platform({"web": {"enabled": False}}), with_route=True) == []
