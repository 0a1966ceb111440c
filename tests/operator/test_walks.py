"""The canary wiring: canary children, weighted routes, walks decided from status."""

from __future__ import annotations

import asyncio
import copy
import socket
from datetime import UTC, datetime, timedelta

from messaging_operator.builders.canaries import build_canary_deployment, build_canary_service
from messaging_operator.builders.deployments import build_deployment
from messaging_operator.builders.routes import build_http_route, with_foreign_rules
from messaging_operator.spec import parse_platform
from messaging_operator.status import Check, build_status
from messaging_operator.walks.analysis import FAILED, PASSED, AnalysisResult, Target, Thresholds
from messaging_operator.walks.canary import iso
from messaging_operator.walks.decisions import decide_canaries, next_look, with_stable_versions
from messaging_operator.walks.prometheus import analyse

from tests.operator.conftest import sample_platform_body

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _body(canary, status=None, spec_changes=None):
    body = copy.deepcopy(sample_platform_body("minimal.yaml"))
    body["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    body["spec"].update(spec_changes or {})
    body["spec"]["services"] = {"relay": {"canary": canary}}
    if status is not None:
        body["status"] = status
    return body


def _refs(route):
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


class Recorder:
    def __init__(self, result):
        self.result = result
        self.calls = []

    async def __call__(self, url, target, window, thresholds):
        self.calls.append((url, target, window))
        return self.result


def _decide(body, analyse_fn, now=NOW):
    platform = parse_platform(body)
    return platform, asyncio.run(decide_canaries(platform, body, now, analyse_fn))


def test_canary_pods_never_match_the_stable_selectors(platform):
    relay = platform.spec.services["relay"]
    stable = build_deployment(platform, relay, "1.0.0")
    canary = build_canary_deployment(platform, relay, "1.1.0", 1)
    service = build_canary_service(platform, relay)
    assert canary["metadata"]["name"] == "chat-relay-canary"
    pod_labels = canary["spec"]["template"]["metadata"]["labels"]
    stable_selector = stable["spec"]["selector"]["matchLabels"]
    assert not stable_selector.items() <= pod_labels.items()
    assert canary["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pod_labels["app.kubernetes.io/version"] == "1.1.0"
    assert canary["spec"]["replicas"] == 1
    assert build_canary_deployment(platform, relay, "1.1.0", 0)["spec"]["replicas"] == 0
    # Same config and secrets as the stable pods: only the version differs.
    container = canary["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith("/relay:1.1.0")
    assert container["envFrom"] == [{"configMapRef": {"name": "chat-relay"}}]


def test_route_weights_with_a_canary(platform, make_platform):
    relay = platform.spec.services["relay"]
    assert _refs(build_http_route(platform, relay, 10)) == {
        "chat-relay": 90,
        "chat-relay-canary": 10,
    }
    assert _refs(build_http_route(platform, relay, 0)) == {
        "chat-relay": 100,
        "chat-relay-canary": 0,
    }
    migrating = make_platform(sample="migration.yaml")
    media = build_http_route(migrating, migrating.spec.services["media"], 10)
    assert _refs(media) == {"chat-media": 45, "monolith": 50, "chat-media-canary": 5}
    assert sum(_refs(media).values()) == 100


def test_a_declared_canary_starts_at_its_first_step_without_querying():
    recorder = Recorder(AnalysisResult(PASSED, "WithinThresholds", "ok"))
    _, walks = _decide(
        _body({"version": "1.1.0", "steps": [10, 50, 100], "interval": "1m"}), recorder
    )
    walk = walks["relay"]
    assert walk.state is not None
    assert (walk.state.phase, walk.state.weight, walk.state.version) == ("Progressing", 10, "1.1.0")
    assert [e.reason for e in walk.decision.events] == ["WalkStarted"]
    assert recorder.calls == []
    assert next_look(walks) == 60


def _recorded(state):
    return {"services": {"relay": {"canary": state.to_status()}}}


def test_a_due_step_is_judged_by_prometheus_and_advances():
    canary = {"version": "1.1.0", "steps": [10, 50, 100], "interval": "1m"}
    spec = {"analysis": {"prometheus": {"url": "http://127.0.0.1:9"}}}
    _, first = _decide(_body(canary, spec_changes=spec), Recorder(None))
    status = _recorded(first["relay"].state)
    recorder = Recorder(AnalysisResult(PASSED, "WithinThresholds", "0.00% errors"))
    later = NOW + timedelta(seconds=61)
    _, walks = _decide(_body(canary, status, spec), recorder, later)
    state = walks["relay"].state
    assert (state.phase, state.step, state.weight) == ("Progressing", 1, 50)
    assert recorder.calls == [
        ("http://127.0.0.1:9", Target("relay", "1.1.0", baseline_version="1.0.0"), "1m")
    ]


def test_without_prometheus_steps_pass_on_time_and_promotion_moves_stable():
    canary = {"version": "1.1.0", "steps": [10, 100], "interval": "1m"}
    _, first = _decide(_body(canary), Recorder(None))
    state = first["relay"].state
    for minutes in (2, 4):
        platform, walks = _decide(
            _body(canary, _recorded(state)), Recorder(None), NOW + timedelta(minutes=minutes)
        )
        state = walks["relay"].state
        assert state.analysis is not None
        assert state.analysis.reason == "AnalysisDisabled"
    assert (state.phase, state.reason) == ("Succeeded", "Promoted")
    stable = with_stable_versions(platform, walks)
    assert stable.spec.services["relay"].version == "1.1.0"
    assert stable.spec.services["auth"].version == "1.0.0"


def test_a_failed_analysis_at_the_limit_rolls_back():
    canary = {
        "version": "1.1.0",
        "steps": [10, 100],
        "interval": "1m",
        "analysis": {"failureLimit": 1},
    }
    spec = {"analysis": {"prometheus": {"url": "http://127.0.0.1:9"}}}
    _, first = _decide(_body(canary, spec_changes=spec), Recorder(None))
    failing = Recorder(AnalysisResult(FAILED, "ThresholdExceeded", "error rate 9.00%"))
    _, walks = _decide(
        _body(canary, _recorded(first["relay"].state), spec), failing, NOW + timedelta(minutes=2)
    )
    state = walks["relay"].state
    assert (state.phase, state.weight) == ("RolledBack", 0)
    assert "9.00%" in state.message


def test_status_counts_only_walks_in_flight(platform):
    checks = {k: Check("True", "Ok", "") for k in ("Ready", "InfrastructureReady")}
    services = {
        "relay": {"ready": True, "version": "1", "canary": {"phase": "Progressing"}},
        "media": {"ready": True, "version": "1", "canary": {"phase": "RolledBack"}},
        "auth": {"ready": True, "version": "1"},
    }
    status = build_status(platform, checks, services, {}, None, iso(NOW))
    assert status["canaries"] == 1
    assert [c["type"] for c in status["conditions"]] == ["Ready", "InfrastructureReady"]


def test_an_unreachable_prometheus_means_wait_not_fail():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    result = asyncio.run(
        analyse(
            f"http://127.0.0.1:{port}", Target("relay", "1.1.0", "1.0.0"), "1m", Thresholds(), 2.0
        )
    )
    assert (result.verdict, result.reason) == ("Wait", "MetricsUnavailable")


def test_rules_added_by_hand_are_applied_with_ours(platform):
    relay = platform.spec.services["relay"]
    hand = {"name": "maintenance", "backendRefs": [{"name": "page", "port": 80}]}
    old_ours = {"backendRefs": [{"name": "chat-relay", "port": 8080}]}  # before rules had names
    live = {"spec": {"rules": [old_ours, hand]}}
    route = with_foreign_rules(build_http_route(platform, relay, 10), live)
    assert route is not None
    assert [r.get("name") for r in route["spec"]["rules"]] == ["messaging-operator", "maintenance"]
    assert _refs(route) == {"chat-relay": 90, "chat-relay-canary": 10}
    alone = with_foreign_rules(build_http_route(platform, relay), {"spec": {"rules": [old_ours]}})
    assert alone is not None
    assert len(alone["spec"]["rules"]) == 1
