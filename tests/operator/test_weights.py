"""Route weights: legacy + stable + canary is always 100, none negative, from any walk.

The property tests drive the real walk state machine (`decide_walk`) through random
sequences of verdicts, clock ticks and platform controls, read the weights after every step,
and finally abort from wherever the walk ended up.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from messaging_operator.walks.analysis import FAILED, PASSED, WAIT, AnalysisResult, Thresholds
from messaging_operator.walks.canary import (
    ROLLED_BACK,
    WalkState,
    canary_weight,
    decide_walk,
    migration_weight,
    serving,
)
from messaging_operator.walks.settings import CANARY, MIGRATION, RolloutControls, WalkSettings
from messaging_operator.weights import RouteWeights, route_weights

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VERDICTS = {
    "pass": AnalysisResult(PASSED, "WithinThresholds", "ok"),
    "fail": AnalysisResult(FAILED, "ThresholdExceeded", "error rate 9.00% > 1.00%"),
    "wait": AnalysisResult(WAIT, "TooFewRequests", "quiet"),
}


def test_no_legacy_sends_everything_to_the_new_service():
    assert route_weights(has_legacy=False, migration_weight=30, canary_weight=0) == RouteWeights(
        0, 100, 0
    )
    assert route_weights(has_legacy=False, migration_weight=0, canary_weight=10) == RouteWeights(
        0, 90, 10
    )


def test_migration_share_goes_to_the_new_service_and_the_rest_to_legacy():
    assert route_weights(has_legacy=True, migration_weight=30, canary_weight=0) == RouteWeights(
        70, 30, 0
    )


def test_a_canary_takes_its_share_of_what_reaches_the_new_service():
    assert route_weights(has_legacy=True, migration_weight=50, canary_weight=10) == RouteWeights(
        50, 45, 5
    )
    assert route_weights(has_legacy=True, migration_weight=100, canary_weight=100) == (
        RouteWeights(0, 0, 100)
    )


def test_a_declared_canary_always_sees_some_traffic():
    tiny = route_weights(has_legacy=True, migration_weight=5, canary_weight=1)
    assert tiny.canary == 1
    assert tiny.total == 100
    # Nothing reaches the new service: nothing can reach its canary either.
    none = route_weights(has_legacy=True, migration_weight=0, canary_weight=50)
    assert none == RouteWeights(100, 0, 0)


@given(
    has_legacy=st.booleans(),
    migration=st.integers(min_value=-50, max_value=200),
    canary=st.integers(min_value=-50, max_value=200),
)
def test_any_inputs_add_up_to_100(has_legacy, migration, canary):
    weights = route_weights(has_legacy=has_legacy, migration_weight=migration, canary_weight=canary)
    assert weights.total == 100
    assert min(weights.legacy, weights.stable, weights.canary) >= 0
    if not has_legacy:
        assert weights.legacy == 0


steps_strategy = st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=5).map(
    lambda steps: tuple(sorted(steps))
)
# One reconcile's input: how far the clock moves, the verdict if one is taken, the controls.
action = st.tuples(
    st.integers(min_value=0, max_value=600),  # seconds since the last pass
    st.sampled_from(["pass", "fail", "wait", "none"]),
    # Mostly no control, so walks run long enough to wait, fail, freeze and promote.
    st.sampled_from(["", "", "", "", "", "", "", "pause", "promote", "abort", "new-version"]),
)


def walk_settings(kind, steps, plain, on_failure):
    return WalkSettings(
        kind=kind,
        version="2.0.0" if kind == CANARY else None,
        steps=() if plain is not None else steps,
        weight=plain,
        interval="2m",
        thresholds=Thresholds(failure_limit=2),
        on_failure=on_failure,
    )


def weights_of(kind, state, has_legacy, declared_migration, walk=None, now=T0, ready=None):
    if kind == CANARY:
        # What reconcile writes: the canary's share from `serving` (keep-warm and handover
        # included), which equals `canary_weight` while the walk is in flight.
        share = canary_weight(state)
        if walk is not None:
            share = serving(walk, state, now, "1.0.0", 2, ready).canary_share or 0
        return route_weights(
            has_legacy=has_legacy, migration_weight=declared_migration, canary_weight=share
        )
    return route_weights(
        has_legacy=has_legacy,
        migration_weight=migration_weight(state, declared_migration),
        canary_weight=0,
    )


def assert_sound(weights):
    assert weights.total == 100
    assert min(weights.legacy, weights.stable, weights.canary) >= 0


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([CANARY, MIGRATION]),
    steps=steps_strategy,
    plain=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    on_failure=st.sampled_from(["rollback", "freeze"]),
    has_legacy=st.booleans(),
    declared_migration=st.integers(min_value=0, max_value=100),
    actions=st.lists(action, max_size=30),
)
def test_random_walks_keep_weights_sound_and_any_rollback_returns_all_traffic(
    kind, steps, plain, on_failure, has_legacy, declared_migration, actions
):
    walk = walk_settings(kind, steps, plain, on_failure)
    now = T0
    state: WalkState | None = None
    for seconds, verdict, control in actions:
        now += timedelta(seconds=seconds)
        if control == "new-version" and kind == CANARY:
            walk = WalkSettings(**{**walk.__dict__, "version": walk.version + ".1"})
        controls = RolloutControls(
            paused=control == "pause", promote=control == "promote", abort=control == "abort"
        )
        analysis = VERDICTS.get(verdict)
        decision = decide_walk(walk, state, controls, analysis, now, stable_version="1.0.0")
        # Only what status keeps survives to the next pass, as across operator restarts.
        state = WalkState.from_status(decision.state.to_status()) if decision.state else None
        ready = "2.0.0" if seconds % 2 else None  # stable pods ready at the new version or not
        now_weights = weights_of(kind, state, has_legacy, declared_migration, walk, now, ready)
        assert_sound(now_weights)
        if state is not None and state.phase == ROLLED_BACK:
            # An automatic rollback (or an abort by control) leaves nothing on the way out.
            assert now_weights.canary == 0
            if kind == MIGRATION and has_legacy:
                assert now_weights.legacy == 100
        if state is not None:
            assert 0 <= state.weight <= 100
            assert state.failures <= walk.thresholds.failure_limit

    aborted = WalkSettings(**{**walk.__dict__, "abort": True})
    back = decide_walk(aborted, state, RolloutControls(), None, now + timedelta(seconds=1))
    final = weights_of(kind, back.state, has_legacy, declared_migration, aborted, now)
    assert_sound(final)
    assert final.canary == 0
    if kind == MIGRATION and has_legacy:
        assert final == RouteWeights(legacy=100, stable=0, canary=0)
    elif kind == CANARY:
        # The canary's share is back on stable; the legacy split is the migration's business.
        assert final == route_weights(
            has_legacy=has_legacy, migration_weight=declared_migration, canary_weight=0
        )
    else:
        assert final == RouteWeights(legacy=0, stable=100, canary=0)
    # And it stays there on the next pass.
    again = decide_walk(aborted, back.state, RolloutControls(), None, now + timedelta(hours=1))
    assert weights_of(kind, again.state, has_legacy, declared_migration) == final
