from messaging_operator.builders.routes import (
    CANARY_MATCH_RULE,
    MIRROR_RULE,
    OWN_RULE,
    build_http_route,
    read_back,
    with_foreign_rules,
)
from messaging_operator.walks.settings import HeaderMatch
from messaging_operator.weights import RouteWeights


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


TESTERS = (
    (HeaderMatch("X-Canary", "always"),),
    (HeaderMatch("Cookie", "canary=1", "RegularExpression"),),
)


def test_a_canary_match_sends_those_requests_to_the_canary_alone(platform):
    route = build_http_route(platform, platform.spec.services["auth"], 0, TESTERS)
    assert route is not None
    own, match = route["spec"]["rules"]
    assert own["name"] == OWN_RULE
    assert _refs(route) == {"chat-auth": 100, "chat-auth-canary": 0}
    assert match["name"] == CANARY_MATCH_RULE
    port = platform.spec.services["auth"].port
    assert match["backendRefs"] == [
        {"kind": "Service", "group": "", "name": "chat-auth-canary", "port": port, "weight": 1}
    ]
    # Every path of the service once per entry, each with all of that entry's headers.
    assert [(m["path"]["value"], m["headers"]) for m in match["matches"]] == [
        ("/api/v1/auth", [{"type": "Exact", "name": "X-Canary", "value": "always"}]),
        ("/api/v1/admin", [{"type": "Exact", "name": "X-Canary", "value": "always"}]),
        ("/api/v1/auth", [{"type": "RegularExpression", "name": "Cookie", "value": "canary=1"}]),
        ("/api/v1/admin", [{"type": "RegularExpression", "name": "Cookie", "value": "canary=1"}]),
    ]


def test_no_canary_backend_no_match_rule(platform):
    route = build_http_route(platform, platform.spec.services["auth"], None, TESTERS)
    assert route is not None
    assert [r["name"] for r in route["spec"]["rules"]] == [OWN_RULE]


def test_the_match_rule_is_ours_when_read_back_and_rebuilt(platform):
    live = build_http_route(platform, platform.spec.services["auth"], 30, TESTERS)
    assert live is not None
    foreign = {"name": "by-hand", "backendRefs": [{"name": "elsewhere", "port": 80}]}
    live["spec"]["rules"].append(foreign)
    # The weights are our plain rule's, never the match rule's 1.
    assert read_back(live) == RouteWeights(legacy=0, stable=70, canary=30)
    rebuilt = with_foreign_rules(
        build_http_route(platform, platform.spec.services["auth"], 30), live
    )
    assert rebuilt is not None
    assert [r.get("name") for r in rebuilt["spec"]["rules"]] == [OWN_RULE, "by-hand"]


def test_a_mirror_copies_get_requests_to_the_canary_and_answers_from_the_split(platform):
    route = build_http_route(platform, platform.spec.services["auth"], 0, (), 25)
    assert route is not None
    own, mirror = route["spec"]["rules"]
    assert mirror["name"] == MIRROR_RULE
    assert [m["method"] for m in mirror["matches"]] == ["GET", "GET"]
    assert mirror["backendRefs"] == own["backendRefs"]  # answers from the same split
    (copy,) = mirror["filters"]
    assert copy["type"] == "RequestMirror"
    assert copy["requestMirror"]["percent"] == 25
    assert copy["requestMirror"]["backendRef"]["name"] == "chat-auth-canary"
    assert "weight" not in copy["requestMirror"]["backendRef"]


def test_with_a_mirror_the_testers_gets_still_reach_the_canary(platform):
    """A method match outranks header matches: the header rule matches GET explicitly too."""
    route = build_http_route(platform, platform.spec.services["auth"], 0, TESTERS[:1], 25)
    assert route is not None
    names = [r["name"] for r in route["spec"]["rules"]]
    assert names == [OWN_RULE, MIRROR_RULE, CANARY_MATCH_RULE]
    matches = route["spec"]["rules"][2]["matches"]
    assert [(m["path"]["value"], m.get("method")) for m in matches] == [
        ("/api/v1/auth", None),
        ("/api/v1/admin", None),
        ("/api/v1/auth", "GET"),
        ("/api/v1/admin", "GET"),
    ]
    assert all(m["headers"][0]["name"] == "X-Canary" for m in matches)
    assert read_back(route) == RouteWeights(legacy=0, stable=100, canary=0)


def test_a_preview_route_strips_its_prefix_before_the_canary(platform):
    from messaging_operator.builders.routes import build_preview_route
    from messaging_operator.walks.settings import Preview

    route = build_preview_route(
        platform, platform.spec.services["auth"], Preview(path_prefix="/preview/")
    )
    assert route is not None
    assert route["metadata"]["name"] == "chat-auth-preview"
    rules = route["spec"]["rules"]
    assert [
        (
            r["matches"][0]["path"]["value"],
            r["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"],
        )
        for r in rules
    ] == [
        ("/preview/api/v1/auth", "/api/v1/auth"),
        ("/preview/api/v1/admin", "/api/v1/admin"),
    ]
    assert {r["backendRefs"][0]["name"] for r in rules} == {"chat-auth-canary"}


def test_a_preview_hostname_keeps_the_paths(platform):
    from messaging_operator.builders.routes import build_preview_route
    from messaging_operator.walks.settings import Preview

    route = build_preview_route(
        platform, platform.spec.services["auth"], Preview(hostname="preview.chat.example.com")
    )
    assert route is not None
    assert route["spec"]["hostnames"] == ["preview.chat.example.com"]
    (rule,) = route["spec"]["rules"]
    assert [m["path"]["value"] for m in rule["matches"]] == ["/api/v1/auth", "/api/v1/admin"]
    assert "filters" not in rule
