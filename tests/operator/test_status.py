"""Status conventions, checked on the pure functions (the cluster tests check the real object)."""

import re

from messaging_operator.status import (
    CONDITION_TYPES,
    Check,
    Observation,
    build_status,
    evaluate_infrastructure,
    evaluate_migrations,
    evaluate_routes,
    evaluate_services,
    job_state,
    merge_conditions,
    merge_patch,
    summarize,
)

CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def assert_conventions(status, generation):
    """Every condition: type, status, CamelCase reason, message, observedGeneration, time."""
    types = [c["type"] for c in status["conditions"]]
    assert sorted(types) == sorted(CONDITION_TYPES)
    for condition in status["conditions"]:
        assert condition["status"] in ("True", "False", "Unknown")
        assert CAMEL.match(condition["reason"]), condition
        assert condition["message"]
        assert condition["observedGeneration"] == generation
        assert condition["lastTransitionTime"].endswith("Z")
    assert status["observedGeneration"] == generation


def _checks(ok=True):
    check = Check("True", "Fine", "fine") if ok else Check("False", "Waiting", "waiting")
    checks = {t: check for t in CONDITION_TYPES if t != "Ready"}
    checks["Ready"] = summarize(checks)
    return checks


def test_first_visit_sets_every_condition(platform):
    status = build_status(platform, _checks(False), {}, {}, None, "2026-01-01T00:00:00Z")
    assert_conventions(status, platform.generation)
    assert status["phase"] == "Progressing"


def test_transition_time_moves_only_on_flip():
    first = merge_conditions(None, _checks(False), 1, "T1")
    same = merge_conditions(first, _checks(False), 2, "T2")
    assert {c["lastTransitionTime"] for c in same} == {"T1"}
    assert {c["observedGeneration"] for c in same} == {2}
    flipped = merge_conditions(same, _checks(True), 2, "T3")
    assert {c["lastTransitionTime"] for c in flipped} == {"T3"}


def test_ready_carries_the_failure_over_mere_waiting():
    checks = {
        "InfrastructureReady": Check("False", "WaitingForInfrastructure", "w"),
        "MigrationsSucceeded": Check("False", "MigrationJobFailed", "boom", failed=True),
        "ServicesReady": Check("True", "ServicesReady", "ok"),
        "RoutesReady": Check("True", "RoutesApplied", "ok"),
    }
    ready = summarize(checks)
    assert (ready.status, ready.reason, ready.failed) == ("False", "MigrationJobFailed", True)
    assert ready.message == "MigrationsSucceeded: boom"


def test_merge_patch_is_empty_at_rest_and_removes_keys():
    old = {"a": 1, "services": {"x": {"v": 1}, "gone": {}}}
    assert merge_patch(old, old) == {}
    assert merge_patch(old, {"a": 1, "services": {"x": {"v": 2}}}) == {
        "services": {"x": {"v": 2}, "gone": None}
    }


def test_job_state_reads_conditions():
    assert job_state(None) == ("Absent", "")
    done = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert job_state(done)[0] == "Complete"
    failed = {
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "m",
                }
            ]
        }
    }
    assert job_state(failed) == ("Failed", "BackoffLimitExceeded: m")
    assert job_state({"status": {}})[0] == "Running"


def test_failed_migration_is_named(platform):
    failed = {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "R"}]}}
    live = {("Job", "chat-auth-migrate-1-0-0"): failed}
    check = evaluate_migrations(platform, live, Observation(), {"auth": "chat-auth-migrate-1-0-0"})
    assert check.reason == "MigrationJobFailed"
    assert check.failed
    assert "chat-auth-migrate-1-0-0" in check.message


def test_bad_image_is_reported_at_once(platform):
    pod = {
        "metadata": {"name": "chat-auth-x", "labels": {"app.kubernetes.io/name": "auth"}},
        "status": {
            "containerStatuses": [
                {"image": "repo/auth:bad", "state": {"waiting": {"reason": "ErrImagePull"}}}
            ]
        },
    }
    check, per_service = evaluate_services(platform, {("Pod", "chat-auth-x"): pod}, Observation())
    assert check.reason == "ImagePullError"
    assert check.failed
    assert "repo/auth:bad" in check.message
    assert per_service["auth"]["ready"] is False


def test_a_store_whose_image_cannot_be_pulled_says_so(platform):
    """The stores' pods come first: a bad image repository shows there as ImagePullError too
    (a real node found it said PodStuck, which `kubectl get mp` shows without the message)."""
    pod = {
        "metadata": {"name": "chat-postgres-0", "labels": {"app.kubernetes.io/name": "postgres"}},
        "status": {
            "containerStatuses": [
                {"image": "repo/postgres:15", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]
        },
    }
    check = evaluate_infrastructure(platform, {("Pod", "chat-postgres-0"): pod}, Observation())
    assert check.reason == "ImagePullError"
    assert check.failed
    assert "postgres" in check.message
    crashing = {**pod, "status": {"containerStatuses": [{"state": {"waiting": {
        "reason": "CrashLoopBackOff"}}}]}}  # fmt: skip
    live = {("Pod", "chat-postgres-0"): crashing}
    assert evaluate_infrastructure(platform, live, Observation()).reason == "PodStuck"


def test_one_bad_image_repository_is_said_once_for_every_service(platform):
    def stuck(service):
        return {
            "metadata": {
                "name": f"chat-{service}-x",
                "labels": {"app.kubernetes.io/name": service},
            },
            "status": {
                "containerStatuses": [
                    {
                        "image": f"ghcr.io/Acme/{service}:1.0.0",
                        "state": {"waiting": {"reason": "InvalidImageName"}},
                    }
                ]
            },
        }

    services = [s.name for s in platform.spec.enabled_services]
    live = {("Pod", f"chat-{name}-x"): stuck(name) for name in services}
    check, _ = evaluate_services(platform, live, Observation())
    assert check.reason == "ImagePullError"
    assert check.message.count("InvalidImageName") == 1
    assert check.message.startswith("InvalidImageName: auth (ghcr.io/Acme/auth:1.0.0), users")


def test_pods_that_cannot_be_created_name_their_cause_once(platform):
    def refused(service):
        return {
            "metadata": {"name": f"chat-{service}", "labels": {}, "generation": 1},
            "spec": {"replicas": 2},
            "status": {
                "observedGeneration": 1,
                "conditions": [
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "reason": "FailedCreate",
                        "message": f'pods "chat-{service}-5d8f9c-" is forbidden: exceeded quota:'
                        " compute, requested: requests.memory=128Mi, used: 1Gi, limited: 1Gi",
                    }
                ],
            },
        }

    live = {("Deployment", f"chat-{name}"): refused(name) for name in ("auth", "users")}
    check, _ = evaluate_services(platform, live, Observation())
    assert (check.reason, check.failed) == ("PodCreationFailed", True)
    assert check.message.count("exceeded quota") == 1
    assert check.message.startswith("auth, users: pods is forbidden: exceeded quota")


def test_missing_gateway(platform):
    check = evaluate_routes(platform, {}, Observation(gateway_found=False))
    assert (check.reason, check.failed) == ("GatewayNotFound", True)
    assert "team/public" in check.message


def test_database_down_after_it_ran_is_a_failure(platform):
    postgres = {
        "metadata": {"name": "chat-postgres", "generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 0,
        },
    }
    live = {("StatefulSet", "chat-postgres"): postgres}
    starting = evaluate_infrastructure(platform, live, Observation())
    assert (starting.reason, starting.failed) == ("DatabaseUnavailable", False)
    down = evaluate_infrastructure(platform, live, Observation(migration_gate_open=True))
    assert (down.reason, down.failed) == ("DatabaseUnavailable", True)
    assert "0/1 ready" in down.message


def test_missing_gateway_api(platform):
    check = evaluate_routes(platform, {}, Observation(gateway_api_installed=False))
    assert (check.reason, check.failed) == ("GatewayAPIMissing", True)


def test_a_failed_contraction_is_named_and_a_running_one_waited_for(platform):
    done = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    failed = {
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimit"}]}
    }
    jobs = {"auth": "chat-auth-migrate-1-0-0"}
    contract = ("Job", "chat-auth-migrate-1-0-0-contract")
    live = {("Job", "chat-auth-migrate-1-0-0"): done, contract: failed}
    check = evaluate_migrations(platform, live, Observation(), jobs)
    assert (check.status, check.reason, check.failed) == ("False", "ContractMigrationFailed", True)
    assert "chat-auth-migrate-1-0-0-contract" in check.message
    assert "BackoffLimit" in check.message

    live[contract] = {"status": {}}
    check = evaluate_migrations(platform, live, Observation(), jobs)
    assert (check.reason, check.message) == ("MigrationsRunning", "running: auth (contract)")

    live[contract] = done
    assert evaluate_migrations(platform, live, Observation(), jobs).reason == "MigrationsSucceeded"
