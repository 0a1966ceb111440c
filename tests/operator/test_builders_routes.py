from messaging_operator.builders.routes import build_http_route


def _refs(route):
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def test_route_per_service_on_the_gateway(platform):
    route = build_http_route(platform, platform.spec.services["auth"])
    assert route is not None
    assert route["spec"]["parentRefs"][0]["name"] == "public"
    assert route["spec"]["hostnames"] == ["chat.example.com"]
    paths = [m["path"]["value"] for m in route["spec"]["rules"][0]["matches"]]
    assert paths == ["/api/v1/auth", "/api/v1/admin"]
    assert _refs(route) == {"chat-auth": 100}


def test_websocket_also_gets_its_socket_path(platform):
    route = build_http_route(platform, platform.spec.services["websocket"])
    assert route is not None
    paths = [m["path"]["value"] for m in route["spec"]["rules"][0]["matches"]]
    assert paths == ["/api/v1/websocket", "/ws", "/api/v1/presence"]


def test_every_prefix_a_service_serves_is_routed(platform):
    def paths(name):
        route = build_http_route(platform, platform.spec.services[name])
        assert route is not None
        return [m["path"]["value"] for m in route["spec"]["rules"][0]["matches"]]

    assert paths("users") == ["/api/v1/users", "/api/v1/contacts", "/api/v1/invitations"]
    assert paths("messages") == ["/api/v1/messages", "/api/v1/conversations"]


def test_weights_split_between_new_and_legacy(make_platform):
    platform = make_platform(sample="migration.yaml")
    media = build_http_route(platform, platform.spec.services["media"])
    auth = build_http_route(platform, platform.spec.services["auth"])
    assert media is not None
    assert auth is not None
    assert _refs(media) == {"chat-media": 50, "monolith": 50}
    assert _refs(auth) == {"chat-auth": 0, "monolith": 100}
    assert media["spec"]["parentRefs"][0]["namespace"] == "gateway-system"


def test_no_gateway_no_routes(make_platform):
    platform = make_platform({"gateway": None})
    assert build_http_route(platform, platform.spec.services["auth"]) is None
