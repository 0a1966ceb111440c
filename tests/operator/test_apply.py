import copy

from messaging_operator.apply import apply_reason, first_difference, with_applied_hash
from messaging_operator.builders.deployments import build_deployment
from messaging_operator.builders.jobs import build_migration_job


def _live_copy(desired):
    """What the API server returns after an apply: our fields plus defaults and status."""
    live = copy.deepcopy(with_applied_hash(desired))  # the server answers with a new object
    live["metadata"]["resourceVersion"] = "7"
    live["spec"]["progressDeadlineSeconds"] = 600
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["terminationMessagePath"] = "/dev/termination-log"
    live["status"] = {"replicas": 2}
    return live


def test_missing_object_is_applied(platform):
    desired = build_deployment(platform, platform.spec.services["auth"], "1.0.0")
    assert apply_reason(desired, None) == "missing"


def test_steady_state_needs_no_apply(platform):
    desired = build_deployment(platform, platform.spec.services["auth"], "1.0.0")
    assert apply_reason(desired, _live_copy(desired)) is None


def test_hand_edit_is_drift(platform):
    desired = build_deployment(platform, platform.spec.services["auth"], "1.0.0")
    live = _live_copy(desired)
    live["spec"]["replicas"] = 5
    assert apply_reason(desired, live) == "drift at .spec.replicas"


def test_changed_intent_is_applied_even_when_only_a_field_was_removed(platform, make_platform):
    desired = build_deployment(platform, platform.spec.services["auth"], "1.0.0")
    live = _live_copy(desired)
    smaller = copy.deepcopy(desired)
    del smaller["spec"]["template"]["spec"]["automountServiceAccountToken"]
    assert apply_reason(smaller, live) == "spec changed"


def test_jobs_are_created_once_never_patched(platform):
    job = build_migration_job(platform, platform.spec.services["auth"], [], "img:1")
    assert job is not None
    live = copy.deepcopy(job)
    live["spec"]["backoffLimit"] = 99
    assert apply_reason(job, live) is None


def test_first_difference_tolerates_server_echoes():
    assert first_difference({"port": 8001}, {"port": "8001"}) is None
    assert first_difference({"a": {}}, {}) is None
    assert first_difference({"a": [1, 2]}, {"a": [1]}) == ".a"
    assert first_difference({"a": True}, {"a": "True"}) == ".a"
