"""The walk state machine: canary and migration decisions from spec, status, verdict and time.

Every step goes through `to_status` / `from_status`, as it does across operator restarts.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from messaging_operator.status import Check
from messaging_operator.walks.analysis import FAILED, PASSED, WAIT, AnalysisResult, Thresholds
from messaging_operator.walks.canary import (
    ABORTED,
    ANALYSIS_FAILED,
    AWAITING_APPROVAL,
    FROZEN,
    PAUSED,
    PROGRESSING,
    ROLLED_BACK,
    SUCCEEDED,
    WAITING,
    WalkState,
    analysis_due,
    analysis_target,
    canary_running,
    canary_weight,
    decide_walk,
    migration_weight,
    serving,
    stable_version,
    warm_version,
)
from messaging_operator.walks.migration_plan import (
    PLAN_PROGRESSING,
    PLAN_STOPPED,
    PLAN_SUCCEEDED,
    SEED_ORDER,
    decide_plan,
    plan_order,
    planned_weight,
)
from messaging_operator.walks.progress_report import in_flight, progress_check
from messaging_operator.walks.settings import (
    CANARY,
    MIGRATION,
    RolloutControls,
    WalkSettings,
    canary_settings,
    migration_settings,
    parse_duration,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GOOD = AnalysisResult(PASSED, "WithinThresholds", "500 requests, error rate 0.10%, p95 80 ms")
BAD = AnalysisResult(FAILED, "ThresholdExceeded", "error rate 7.00% > 1.00%", error_rate=0.07)
QUIET = AnalysisResult(WAIT, "TooFewRequests", "3 requests in the window, fewer than 100")
NO_CONTROLS = RolloutControls()

WALK = WalkSettings(
    kind=CANARY,
    version="1.1.0",
    steps=(10, 50, 100),
    interval="2m",
    thresholds=Thresholds(failure_limit=3),
)


def minutes(n):
    return T0 + timedelta(minutes=n)


def step(settings, state, analysis=None, at=T0, controls=NO_CONTROLS, stable="1.0.0"):
    """One reconcile: decide, then keep only what status keeps."""
    decision = decide_walk(settings, state, controls, analysis, at, stable_version=stable)
    if decision.state is None:
        return None, decision
    restored = WalkState.from_status(decision.state.to_status())
    assert restored == decision.state
    return restored, decision


def started(settings=WALK):
    state, _ = step(settings, None)
    return state


def test_durations():
    assert parse_duration("30s") == 30
    assert parse_duration("2m") == 120
    assert parse_duration("1h30m") == 5400
    with pytest.raises(ValueError, match="duration"):
        parse_duration("2 minutes")


def test_a_declared_canary_starts_at_its_first_step():
    state, decision = step(WALK, None)
    assert state.phase == PROGRESSING
    assert state.weight == 10
    assert state.version == "1.1.0"
    assert state.stable_version == "1.0.0"
    assert state.next_check == "2026-01-01T12:02:00Z"
    assert [e.reason for e in decision.events] == ["WalkStarted"]
    assert decision.requeue_after == 120
    assert canary_running(state)
    assert canary_weight(state) == 10


def test_nothing_moves_before_the_interval_ends():
    state = started()
    held, decision = step(WALK, state, GOOD, at=minutes(1))
    assert held == state
    assert decision.events == ()
    assert decision.requeue_after == 60
    assert not analysis_due(WALK, state, minutes(1))
    assert analysis_due(WALK, state, minutes(2))


def test_the_walk_goes_10_50_100_and_is_promoted():
    state = started()
    state, decision = step(WALK, state, GOOD, at=minutes(2))
    assert (state.weight, state.reason) == (50, "StepAdvanced")
    assert decision.events[0].reason == "StepAdvanced"
    state, _ = step(WALK, state, GOOD, at=minutes(4))
    assert state.weight == 100
    state, decision = step(WALK, state, GOOD, at=minutes(6))
    assert state.phase == SUCCEEDED
    assert state.weight == 0
    assert state.promoted_at == "2026-01-01T12:06:00Z"
    assert decision.events[0].reason == "Promoted"
    # Stable takes the canary's version; the canary scales to zero.
    assert stable_version("1.0.0", state) == "1.1.0"
    assert not canary_running(state)
    assert canary_weight(state) == 0


def test_no_analysis_when_due_holds_until_one_comes():
    state = started()
    held, decision = step(WALK, state, None, at=minutes(3))
    assert held == state
    assert decision.requeue_after == 0


def test_a_quiet_canary_waits_and_is_never_rolled_back():
    state = started()
    for n in range(1, 20):
        state, _decision = step(WALK, state, QUIET, at=minutes(2 * n))
        assert state.phase == WAITING
        assert state.reason == "TooFewRequests"
        assert state.weight == 10
        assert state.failures == 0
    assert "fewer than 100" in state.message


def test_failures_count_consecutively_and_a_pass_resets_them():
    state = started()
    state, decision = step(WALK, state, BAD, at=minutes(2))
    assert (state.failures, state.reason, state.weight) == (1, "AnalysisFailing", 10)
    assert decision.events[0].type == "Warning"
    state, _ = step(WALK, state, BAD, at=minutes(4))
    assert state.failures == 2
    state, _ = step(WALK, state, GOOD, at=minutes(6))
    assert (state.failures, state.weight) == (0, 50)
    state, _ = step(WALK, state, BAD, at=minutes(8))
    state, _ = step(WALK, state, BAD, at=minutes(10))
    assert state.phase == PROGRESSING
    assert state.failures == 2


def test_a_wait_neither_counts_nor_resets_failures():
    state = started()
    state, _ = step(WALK, state, BAD, at=minutes(2))
    state, _ = step(WALK, state, QUIET, at=minutes(4))
    assert state.failures == 1
    state, _ = step(WALK, state, BAD, at=minutes(6))
    assert state.failures == 2


def test_rolled_back_after_failure_limit_with_the_numbers():
    state = started()
    for n in (2, 4):
        state, _ = step(WALK, state, BAD, at=minutes(n))
    state, decision = step(WALK, state, BAD, at=minutes(6))
    assert state.phase == ROLLED_BACK
    assert state.reason == ANALYSIS_FAILED
    assert state.weight == 0
    assert "error rate 7.00% > 1.00%" in state.message
    assert "3/3" in state.message
    assert state.analysis.error_rate == 0.07
    assert decision.events[0].reason == "RolledBack"
    assert not canary_running(state)
    assert stable_version("1.0.0", state) == "1.0.0"
    # It stays rolled back: good numbers later do not resurrect that version.
    again, decision = step(WALK, state, GOOD, at=minutes(30))
    assert again == state
    assert decision.events == ()


def test_freeze_holds_the_weights_and_alerts():
    frozen_walk = WalkSettings(**{**WALK.__dict__, "on_failure": "freeze"})
    state = started(frozen_walk)
    state, _ = step(frozen_walk, state, GOOD, at=minutes(2))
    for n in (4, 6, 8):
        state, decision = step(frozen_walk, state, BAD, at=minutes(n))
    assert state.phase == FROZEN
    assert state.weight == 50
    assert canary_weight(state) == 50
    assert canary_running(state)
    assert decision.events[0].type == "Warning"
    assert decision.events[0].reason == "Frozen"
    assert "onFailure: freeze" in state.message
    held, _ = step(frozen_walk, state, GOOD, at=minutes(20))
    assert held == state
    # A person decides: abort sends traffic back, promote sends it forward.
    aborted_walk = WalkSettings(**{**frozen_walk.__dict__, "abort": True})
    back, _ = step(aborted_walk, state, at=minutes(21))
    assert back.phase == ROLLED_BACK


def test_abort_mid_walk_rolls_back_at_once():
    state = started()
    state, _ = step(WALK, state, GOOD, at=minutes(2))
    aborted = WalkSettings(**{**WALK.__dict__, "abort": True})
    state, decision = step(aborted, state, at=minutes(3))
    assert state.phase == ROLLED_BACK
    assert state.reason == ABORTED
    assert state.weight == 0
    assert "aborted at 50%" in state.message
    assert "500 requests" in state.message  # the last numbers
    assert decision.events[0].type == "Warning"
    # Idempotent: the next pass changes nothing.
    again, decision = step(aborted, state, at=minutes(4))
    assert again == state
    assert decision.events == ()


def test_clearing_abort_walks_the_canary_again():
    aborted = WalkSettings(**{**WALK.__dict__, "abort": True})
    state, _ = step(aborted, started(), at=minutes(1))
    state, decision = step(WALK, state, at=minutes(5))
    assert (state.phase, state.weight, state.failures) == (PROGRESSING, 10, 0)
    assert decision.events[0].reason == "WalkRestarted"


def test_abort_before_anything_started():
    aborted = WalkSettings(**{**WALK.__dict__, "abort": True})
    state, _ = step(aborted, None)
    assert state.phase == ROLLED_BACK
    assert canary_weight(state) == 0


def test_promote_by_hand_skips_the_rest_of_the_walk():
    promoted = WalkSettings(**{**WALK.__dict__, "promote": True})
    state, _decision = step(promoted, started(), at=minutes(1))
    assert state.phase == SUCCEEDED
    assert stable_version("1.0.0", state) == "1.1.0"
    assert "promoted by hand" in state.message


def test_a_new_canary_version_mid_analysis_restarts_the_walk():
    state = started()
    state, _ = step(WALK, state, GOOD, at=minutes(2))
    state, _ = step(WALK, state, BAD, at=minutes(4))
    newer = WalkSettings(**{**WALK.__dict__, "version": "1.2.0"})
    state, decision = step(newer, state, GOOD, at=minutes(5))
    assert state.version == "1.2.0"
    assert (state.weight, state.step, state.failures) == (10, 0, 0)
    assert state.next_check == "2026-01-01T12:07:00Z"
    assert state.analysis is None
    assert decision.events[0].reason == "WalkRestarted"
    assert "1.1.0" in decision.events[0].message


def test_a_plain_weight_holds_still_and_follows_the_spec():
    hold = WalkSettings(kind=CANARY, version="1.1.0", weight=20, interval="1m")
    state, _ = step(hold, None)
    assert state.weight == 20
    for n in range(1, 6):
        state, _ = step(hold, state, GOOD, at=minutes(n))
        assert (state.phase, state.reason, state.weight) == (PROGRESSING, "Holding", 20)
    moved = WalkSettings(**{**hold.__dict__, "weight": 40})
    state, _ = step(moved, state, at=minutes(5) + timedelta(seconds=10))
    assert state.weight == 40
    # A hold can still fail and roll back.
    for n in (7, 8, 9):
        state, _ = step(moved, state, BAD, at=minutes(n))
    assert state.phase == ROLLED_BACK


def test_platform_pause_and_resume():
    state = started()
    paused, decision = step(WALK, state, BAD, at=minutes(2), controls=RolloutControls(paused=True))
    assert paused.phase == PAUSED
    assert paused.weight == 10
    assert paused.failures == 0
    assert decision.events[0].reason == "RolloutPaused"
    still, decision = step(WALK, paused, BAD, at=minutes(9), controls=RolloutControls(paused=True))
    assert still == paused
    assert not analysis_due(WALK, paused, minutes(9))
    resumed, decision = step(WALK, paused, at=minutes(10))
    assert resumed.phase == PROGRESSING
    # A whole fresh window after the pause.
    assert resumed.next_check == "2026-01-01T12:12:00Z"


def test_platform_promote_and_abort_act_on_every_walk():
    state = started()
    done, _ = step(WALK, state, at=minutes(1), controls=RolloutControls(promote=True))
    assert done.phase == SUCCEEDED
    back, _ = step(WALK, state, at=minutes(1), controls=RolloutControls(abort=True))
    assert back.phase == ROLLED_BACK
    assert back.reason == ABORTED


def test_previous_stable_kept_warm_and_rollback_right_after_promotion_is_instant():
    walk = WalkSettings(**{**WALK.__dict__, "keep_warm": "10m"})
    state = started(walk)
    for n in (2, 4, 6):
        state, _ = step(walk, state, GOOD, at=minutes(n))
    assert state.phase == SUCCEEDED
    assert warm_version(walk, state, minutes(7)) == "1.0.0"
    assert warm_version(walk, state, minutes(16)) is None
    aborted = WalkSettings(**{**walk.__dict__, "abort": True})
    back, _decision = step(aborted, state, at=minutes(7))
    assert back.phase == ROLLED_BACK
    assert stable_version("1.0.0", back) == "1.0.0"
    assert "still warm" in back.message
    late, _ = step(aborted, state, at=minutes(30))
    assert "must start again" in late.message


def test_keep_warm_is_a_route_switch_and_the_stable_takes_over_once_ready():
    walk = WalkSettings(**{**WALK.__dict__, "keep_warm": "10m"})
    state = started(walk)
    walking = serving(walk, state, minutes(1), "1.0.0", 3, "1.0.0")
    assert (walking.stable_version, walking.canary_version) == ("1.0.0", "1.1.0")
    assert (walking.canary_replicas, walking.canary_share) == (1, 10)
    for n in (2, 4, 6):
        state, _ = step(walk, state, GOOD, at=minutes(n))
    # Inside the window: the old stable runs untouched, the canary (grown) carries it all.
    warm = serving(walk, state, minutes(7), "1.0.0", 3, "1.0.0")
    assert warm.stable_version == "1.0.0"
    assert (warm.canary_replicas, warm.canary_share) == (3, 100)
    # Undoing it inside the window: nothing to start, only the share moves back.
    aborted = WalkSettings(**{**walk.__dict__, "abort": True})
    back, _ = step(aborted, state, at=minutes(7))
    undone = serving(aborted, back, minutes(7), "1.0.0", 3, "1.0.0")
    assert undone.stable_version == "1.0.0"
    assert (undone.canary_replicas, undone.canary_share) == (0, 0)
    # Window over: stable moves; the canary keeps the traffic until stable is ready at it.
    moving = serving(walk, state, minutes(17), "1.0.0", 3, None)
    assert moving.stable_version == "1.1.0"
    assert moving.canary_share == 100
    handed_back = serving(walk, state, minutes(17), "1.0.0", 3, "1.1.0")
    assert (handed_back.canary_replicas, handed_back.canary_share) == (0, 0)


def test_promotion_record_stays_while_warm_once_the_spec_catches_up():
    walk = WalkSettings(**{**WALK.__dict__, "keep_warm": "10m"})
    state = started(walk)
    for n in (2, 4, 6):
        state, _ = step(walk, state, GOOD, at=minutes(n))
    # The user sets version: 1.1.0; the canary is then no longer declared.
    caught_up = canary_settings({"version": "1.1.0", "keepWarm": "10m"}, stable_version="1.1.0")
    kept, decision = step(caught_up, state, at=minutes(8), stable="1.1.0")
    assert kept == state
    assert decision.requeue_after == 8 * 60
    gone, _ = step(caught_up, state, at=minutes(17), stable="1.1.0")
    assert gone is None


def test_removing_a_canary_mid_walk_ends_it():
    state = started()
    gone, decision = step(canary_settings({}, "1.0.0"), state, at=minutes(1))
    assert gone is None
    assert decision.events[0].reason == "CanaryRemoved"
    assert canary_weight(gone) == 0


def test_state_survives_a_restart_and_unreadable_state_starts_over():
    state, _ = step(WALK, started(), GOOD, at=minutes(2))
    assert WalkState.from_status(state.to_status()) == state
    assert WalkState.from_status(None) is None
    assert WalkState.from_status({"phase": "Progressing"}) is None


def test_settings_from_the_raw_spec():
    parsed = canary_settings(
        {
            "version": "1.1.0",
            "steps": [10, 50, 100],
            "interval": "1m",
            "analysis": {"maxErrorRate": 0.02, "failureLimit": 2},
            "onFailure": "freeze",
        },
        stable_version="1.0.0",
    )
    assert parsed.version == "1.1.0"
    assert parsed.steps == (10, 50, 100)
    assert parsed.interval_seconds == 60
    assert parsed.thresholds.failure_limit == 2
    assert parsed.on_failure == "freeze"
    assert canary_settings({"version": "1.0.0"}, "1.0.0").version is None
    migration = migration_settings({"weight": 30}, {"steps": [25, 50, 100], "interval": "5m"})
    assert (migration.kind, migration.steps, migration.interval) == (
        MIGRATION,
        (25, 50, 100),
        "5m",
    )


# Migrations: the same walk, from legacy to the new service.

MIGRATE = WalkSettings(kind=MIGRATION, steps=(10, 50, 100), interval="5m")


def test_a_migration_walks_and_completes_on_the_new_service():
    state, _ = step(MIGRATE, None)
    assert migration_weight(state, declared_weight=0) == 10
    for n, want in ((5, 50), (10, 100)):
        state, _ = step(MIGRATE, state, GOOD, at=minutes(n))
        assert state.weight == want
    state, _ = step(MIGRATE, state, GOOD, at=minutes(15))
    assert state.phase == SUCCEEDED
    assert migration_weight(state, declared_weight=0) == 100
    assert canary_weight(state) == 0


def test_a_failing_migration_goes_back_to_legacy():
    state, _ = step(MIGRATE, None)
    state, _ = step(MIGRATE, state, GOOD, at=minutes(5))
    for n in (10, 15, 20):
        state, _decision = step(MIGRATE, state, BAD, at=minutes(n))
    assert state.phase == ROLLED_BACK
    assert migration_weight(state, declared_weight=50) == 0
    assert "back on legacy" in state.message


def test_without_a_walk_the_declared_migration_weight_stands():
    assert migration_weight(None, declared_weight=30) == 30


def _walk(phase, weight=50, message=""):
    return WalkState(
        kind=MIGRATION,
        phase=phase,
        reason="",
        message=message,
        weight=weight,
        step=0,
        failures=0,
        started_at="2026-01-01T12:00:00Z",
        next_check="2026-01-01T12:05:00Z",
    )


def test_the_plan_follows_the_seed_order_over_enabled_services():
    assert plan_order(None, SEED_ORDER) == SEED_ORDER
    assert SEED_ORDER[:3] == ("relay", "media", "notifications")
    assert plan_order({}, ["auth", "relay", "websocket"]) == ("relay", "auth", "websocket")
    assert plan_order({"order": ["users", "auth"]}, SEED_ORDER) == ("users", "auth")


def test_the_plan_walks_one_service_after_another():
    order = ("relay", "media", "notifications")
    plan = decide_plan(order, {})
    assert (plan.phase, plan.current, plan.pending) == (PLAN_PROGRESSING, "relay", order[1:])
    walks = {"relay": _walk(SUCCEEDED, 100), "media": _walk(PROGRESSING, 50)}
    plan = decide_plan(order, walks)
    assert plan.current == "media"
    assert plan.completed == ("relay",)
    assert [planned_weight(plan, n, walks.get(n)) for n in order] == [100, 50, 0]
    walks["media"] = _walk(SUCCEEDED, 100)
    walks["notifications"] = _walk(SUCCEEDED, 100)
    assert decide_plan(order, walks).phase == PLAN_SUCCEEDED


def test_a_failure_stops_the_plan_where_it_is():
    order = ("relay", "media", "notifications")
    walks = {
        "relay": _walk(SUCCEEDED, 100),
        "media": _walk(ROLLED_BACK, 0, "analysis failed 3/3: error rate 7.00% > 1.00%"),
    }
    plan = decide_plan(order, walks)
    assert plan.phase == PLAN_STOPPED
    assert plan.current == "media"
    assert plan.pending == ("notifications",)
    assert "error rate 7.00%" in plan.message
    assert "not started: notifications" in plan.message
    assert [planned_weight(plan, n, walks.get(n)) for n in order] == [100, 0, 0]
    frozen = decide_plan(order, {**walks, "media": _walk(FROZEN, 50)})
    assert frozen.phase == PLAN_STOPPED
    assert planned_weight(frozen, "media", _walk(FROZEN, 50)) == 50
    assert plan.to_status()["current"] == "media"


def test_aborting_a_completed_migration_sends_the_path_back_to_legacy():
    state, _ = step(MIGRATE, None)
    state, _ = step(MIGRATE, state, at=minutes(1), controls=RolloutControls(promote=True))
    assert migration_weight(state, declared_weight=0) == 100
    aborted = WalkSettings(**{**MIGRATE.__dict__, "abort": True})
    back, decision = step(aborted, state, at=minutes(2))
    assert back.phase == ROLLED_BACK
    assert migration_weight(back, declared_weight=100) == 0
    assert decision.events[0].reason == ABORTED


def test_a_wait_is_told_once():
    state = started()
    state, decision = step(WALK, state, QUIET, at=minutes(2))
    assert [e.reason for e in decision.events] == ["TooFewRequests"]
    state, decision = step(WALK, state, QUIET, at=minutes(4))
    assert decision.events == ()


def test_platform_abort_stops_walks_in_flight_but_leaves_promotions_alone():
    state = started()
    for n in (2, 4, 6):
        state, _ = step(WALK, state, GOOD, at=minutes(n))
    kept, _ = step(WALK, state, at=minutes(7), controls=RolloutControls(abort=True))
    assert kept == state
    assert stable_version("1.0.0", kept) == "1.1.0"


def test_what_to_analyse():
    canary = analysis_target("auth", WALK, stable="1.0.0")
    assert (canary.version, canary.baseline_version) == ("1.1.0", "1.0.0")
    migration = analysis_target("auth", MIGRATE, stable="1.0.0")
    assert (migration.version, migration.baseline_version) == ("1.0.0", None)


def test_progress_condition_tells_the_story():
    walking = started()
    assert progress_check({}, {}) == Check("True", "NoCanary", "no canary or migration in flight")
    check = progress_check({"auth": walking, "users": None}, {})
    assert (check.status, check.reason) == ("True", "Progressing")
    assert "auth canary 1.1.0 progressing at 10%" in check.message
    assert in_flight({"auth": walking, "users": None}) == 1
    waiting, _ = step(WALK, walking, QUIET, at=minutes(2))
    assert progress_check({"auth": waiting}, {}).reason == "WaitingForTraffic"
    state = walking
    for n in (2, 4, 6):
        state, _ = step(WALK, state, BAD, at=minutes(n))
    back = progress_check({"auth": state}, {})
    assert (back.status, back.reason, back.failed) == ("False", "CanaryRolledBack", False)
    assert "error rate 7.00% > 1.00%" in back.message
    assert in_flight({"auth": state}) == 0
    frozen = progress_check({}, {"media": _walk(FROZEN, 50, "frozen at 50%")})
    assert (frozen.reason, frozen.failed) == ("CanaryFrozen", True)
    assert "media migration: frozen at 50%" in frozen.message
    stopped = decide_plan(("relay", "media"), {"relay": _walk(ROLLED_BACK, 0, "bad")})
    assert progress_check({}, {}, stopped).reason == "MigrationPlanStopped"


def _failed(settings, stable="1.0.0"):
    state, _ = step(settings, None, stable=stable)
    for n in (5, 10, 15):
        state, _ = step(settings, state, BAD, at=minutes(n), stable=stable)
    assert state.phase == ROLLED_BACK
    return state


def test_abort_then_clear_retries_a_failed_walk():
    state = _failed(WALK)
    aborted = WalkSettings(**{**WALK.__dict__, "abort": True})
    marked, _ = step(aborted, state, at=minutes(20))
    assert (marked.phase, marked.reason) == (ROLLED_BACK, ABORTED)
    assert "error rate 7.00% > 1.00%" in marked.message
    again, decision = step(WALK, marked, at=minutes(21))
    assert (again.phase, again.weight, again.failures) == (PROGRESSING, 10, 0)
    assert decision.events[0].reason == "WalkRestarted"


def test_a_failed_migration_retries_when_the_new_service_gets_a_new_version():
    state = _failed(MIGRATE, stable="1.0.0")
    same, _ = step(MIGRATE, state, at=minutes(30), stable="1.0.0")
    assert same == state
    fixed, decision = step(MIGRATE, state, at=minutes(31), stable="1.0.1")
    assert (fixed.phase, fixed.weight, fixed.stable_version) == (PROGRESSING, 10, "1.0.1")
    assert decision.events[0].reason == "WalkRestarted"


def test_an_operator_restart_mid_walk_continues_from_the_status_json():
    """The status goes through the API server as JSON; a new operator reads it back."""
    state = started()
    state, _ = step(WALK, state, GOOD, at=minutes(2))
    state, _ = step(WALK, state, BAD, at=minutes(4))
    written = json.loads(json.dumps({"services": {"auth": {"canary": state.to_status()}}}))
    restored = WalkState.from_status(written["services"]["auth"]["canary"])
    assert restored == state
    assert (restored.weight, restored.failures) == (50, 1)
    # Not due yet after the restart: nothing moves; when due, the walk goes on.
    held, _ = step(WALK, restored, GOOD, at=minutes(5))
    assert held == restored
    moved, _ = step(WALK, restored, GOOD, at=minutes(6))
    assert (moved.weight, moved.failures) == (100, 0)


GATED = replace(WALK, gates=(50,))


def test_a_gate_holds_the_walk_until_a_person_approves_and_then_it_moves_at_once():
    state = started(GATED)
    waiting, decision = step(GATED, state, GOOD, at=minutes(2))
    assert (waiting.phase, waiting.reason, waiting.weight) == (PROGRESSING, AWAITING_APPROVAL, 10)
    assert "waiting for approval to go to 50%" in waiting.message
    assert [e.reason for e in decision.events] == [AWAITING_APPROVAL]
    check = progress_check({"relay": waiting}, {})
    assert (check.status, check.reason) == ("True", AWAITING_APPROVAL)
    # Another window passes: still waiting, and no second Event.
    again, decision = step(GATED, waiting, GOOD, at=minutes(4))
    assert (again.reason, again.weight, decision.events) == (AWAITING_APPROVAL, 10, ())
    # Approved between two windows: the next pass moves, no analysis needed.
    approved = replace(GATED, approved=50)
    moved, decision = step(approved, again, None, at=minutes(5))
    assert (moved.weight, moved.step, moved.reason) == (50, 1, "StepAdvanced")
    assert moved.next_check == "2026-01-01T12:07:00Z"  # a whole window at 50 %
    assert [e.reason for e in decision.events] == ["StepAdvanced"]


def test_a_failing_analysis_while_waiting_at_a_gate_still_rolls_back():
    waiting, _ = step(GATED, started(GATED), GOOD, at=minutes(2))
    state = waiting
    for n in range(3):
        state, _ = step(GATED, state, BAD, at=minutes(4 + 2 * n))
    assert (state.phase, state.reason) == (ROLLED_BACK, ANALYSIS_FAILED)


def test_gates_and_approval_are_parsed_for_both_walks():
    canary = canary_settings(
        {"version": "2", "steps": [10, 50], "gates": [50], "approved": 50}, "1"
    )
    migration = migration_settings({"steps": [10, 100], "gates": [100]})
    assert (canary.gates, canary.approved) == ((50,), 50)
    assert (migration.gates, migration.approved) == ((100,), 0)


def test_a_blue_green_canary_runs_full_size_is_judged_at_0_and_switches_at_once():
    settings = canary_settings(
        {"version": "1.1.0", "preview": {"pathPrefix": "/preview"}, "interval": "2m"}, "1.0.0"
    )
    assert settings.steps == (0,)
    state = started(settings)
    assert state.weight == 0
    assert serving(settings, state, T0, "1.0.0", 3, "1.0.0").canary_replicas == 3
    done, _ = step(settings, state, GOOD, at=minutes(2))
    assert (done.phase, done.reason) == (SUCCEEDED, "Promoted")
    # All traffic on the new version at once, the old one kept warm (keepWarm's default 10m).
    switched = serving(settings, done, minutes(3), "1.0.0", 3, "1.0.0")
    assert (switched.canary_share, switched.canary_replicas, switched.stable_version) == (
        100,
        3,
        "1.0.0",
    )
