"""Migration walks (legacy -> new) and the platform's migration plan, decided from status."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

from messaging_operator.builders.routes import build_http_route, read_back
from messaging_operator.spec import parse_platform
from messaging_operator.walks.analysis import FAILED, PASSED, AnalysisResult
from messaging_operator.walks.canary import ROLLED_BACK, SUCCEEDED
from messaging_operator.walks.decisions import decide_migrations, with_migration_weights

from tests.operator.conftest import sample_platform_body
from tests.operator.test_walks import NOW, Recorder

PASS = AnalysisResult(PASSED, "WithinThresholds", "errors 0.0% p95 12 ms over 500 requests")
FAIL = AnalysisResult(FAILED, "ErrorRateTooHigh", "errors 40.0% > 1.0% over 500 requests")


def _body(services=None, plan=None, status=None):
    body = copy.deepcopy(sample_platform_body("migration.yaml"))
    body["metadata"].update({"namespace": "team", "uid": "uid-1", "generation": 1})
    body["spec"]["services"] = services or {}
    if plan is not None:
        body["spec"]["migrationPlan"] = plan
    if status is not None:
        body["status"] = status
    return body


def _decide(body, analyse=None, now=NOW):
    platform = parse_platform(body)
    migrations = asyncio.run(decide_migrations(platform, body, now, analyse or Recorder(PASS)))
    return platform, migrations


def _status_of(migrations):
    return {
        "services": {
            name: {"migration": walk.state.to_status()}
            for name, walk in migrations.walks.items()
            if walk.state is not None
        }
    }


def _walk_on(body, migrations, analyse, seconds):
    """The next pass: status as the operator wrote it, `seconds` later."""
    body = copy.deepcopy(body)
    body["status"] = _status_of(migrations)
    return _decide(body, analyse, NOW + timedelta(seconds=seconds))


def _route_weights(platform, migrations, name):
    adjusted = with_migration_weights(platform, migrations)
    route = build_http_route(adjusted, adjusted.spec.services[name])
    return {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}


def test_a_plain_weight_holds_still_and_walks_nothing():
    platform, migrations = _decide(_body({"media": {"migration": {"weight": 50}}}))
    assert migrations.walks == {}
    assert _route_weights(platform, migrations, "media") == {"chat-media": 50, "monolith": 50}


def test_steps_walk_from_legacy_and_finish_on_the_new_service():
    body = _body({"media": {"migration": {"steps": [10, 50, 100], "interval": "1m"}}})
    platform, first = _decide(body)
    assert first.walks["media"].state.weight == 10
    assert _route_weights(platform, first, "media") == {"chat-media": 10, "monolith": 90}
    _, second = _walk_on(body, first, Recorder(PASS), 61)
    assert second.walks["media"].state.weight == 50
    _, third = _walk_on(body, second, Recorder(PASS), 122)
    _, done = _walk_on(body, third, Recorder(PASS), 183)
    assert done.walks["media"].state.phase == SUCCEEDED
    assert _route_weights(platform, done, "media") == {"chat-media": 100, "monolith": 0}


def test_a_failing_migration_goes_back_to_legacy_with_its_numbers():
    body = _body(
        {"media": {"migration": {"steps": [10, 50], "analysis": {"failureLimit": 1}}}},
    )
    body["spec"]["analysis"] = {"prometheus": {"url": "http://127.0.0.1:9"}}
    platform, first = _decide(body)
    failing = Recorder(FAIL)
    _, back = _walk_on(body, first, failing, 601)
    state = back.walks["media"].state
    assert state.phase == ROLLED_BACK
    assert "errors 40.0%" in state.message
    assert _route_weights(platform, back, "media") == {"chat-media": 0, "monolith": 100}
    # The new service alone is analysed: the monolith exports none of our metrics.
    assert failing.calls[0][1].baseline_version is None


def test_no_legacy_backend_means_nothing_to_migrate():
    body = _body({"media": {"migration": {"steps": [10, 50]}}})
    body["spec"]["gateway"].pop("legacy")
    _, migrations = _decide(body)
    assert migrations.walks == {}
    assert migrations.plan is None


def test_the_plan_walks_services_in_order_and_later_ones_wait_on_legacy():
    plan = {"order": ["relay", "media", "auth"], "steps": [50, 100], "interval": "1m"}
    body = _body(plan=plan)
    platform, first = _decide(body)
    assert set(first.walks) == {"relay"}
    assert first.plan.current == "relay"
    assert _route_weights(platform, first, "relay") == {"chat-relay": 50, "monolith": 50}
    assert _route_weights(platform, first, "media") == {"chat-media": 0, "monolith": 100}
    _, second = _walk_on(body, first, Recorder(PASS), 61)
    _, third = _walk_on(body, second, Recorder(PASS), 122)
    # relay finished in this pass, so media starts in the same one.
    assert third.walks["relay"].state.phase == SUCCEEDED
    assert third.walks["media"].state.weight == 50
    assert third.plan.current == "media"
    assert third.plan.completed == ("relay",)
    # Services outside the plan keep their declared weight (100 by default).
    assert _route_weights(platform, third, "users") == {"chat-users": 100, "monolith": 0}


def test_a_failure_stops_the_plan_where_it_is():
    plan = {"order": ["relay", "media", "auth"], "steps": [100], "interval": "1m"}
    body = _body(plan=plan)
    body["spec"]["analysis"] = {"prometheus": {"url": "http://127.0.0.1:9"}}
    _, first = _decide(body)
    _, second = _walk_on(body, first, Recorder(PASS), 61)
    assert second.plan.current == "media"
    platform, stopped = parse_platform(body), second
    for seconds in (122, 183, 244):  # failureLimit defaults to 3
        platform, stopped = _walk_on(body, stopped, Recorder(FAIL), seconds)
    assert stopped.plan.phase == "Stopped"
    assert stopped.plan.current == "media"
    assert "auth" in stopped.plan.pending
    assert _route_weights(platform, stopped, "media") == {"chat-media": 0, "monolith": 100}
    assert _route_weights(platform, stopped, "auth") == {"chat-auth": 0, "monolith": 100}
    assert _route_weights(platform, stopped, "relay") == {"chat-relay": 100, "monolith": 0}
    # Nothing moves on while it is stopped.
    _, later = _walk_on(body, stopped, Recorder(PASS), 900)
    assert later.plan.phase == "Stopped"
    assert "auth" not in later.walks


def test_platform_wide_abort_sends_the_walking_service_back_to_legacy():
    body = _body(plan={"order": ["relay", "media"], "steps": [50, 100]})
    _, first = _decide(body)
    body["spec"]["rollout"] = {"abort": True}
    _, aborted = _walk_on(body, first, Recorder(PASS), 5)
    assert aborted.walks["relay"].state.phase == ROLLED_BACK
    assert aborted.plan.phase == "Stopped"


def test_read_back_reports_what_the_live_route_holds():
    platform = parse_platform(_body({"media": {"migration": {"weight": 30}}}))
    route = build_http_route(platform, platform.spec.services["media"], canary_weight=10)
    weights = read_back(route)
    assert weights.to_status() == {"legacy": 70, "stable": 27, "canary": 3}
    assert weights.new == 30
    # Someone edited the live route by hand: status says so.
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 0
    assert read_back(route).new == 4  # 3 of the 73 that remain
    assert read_back(None) is None
