"""The plan step: pure, from a read-only Observation to the children and the gates."""

from __future__ import annotations

import dataclasses

import pytest
from messaging_operator.builders.infrastructure import build_database_provision_job
from messaging_operator.plan import plan_children
from messaging_operator.status import Observation

from tests.operator.conftest import sample_platform_body

DONE = {"metadata": {}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}


def names(plan, kind):
    return {o["metadata"]["name"] for o in plan.objects if o["kind"] == kind}


def test_the_observation_is_read_only():
    seen = Observation()
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen.migration_gate_open = True  # type: ignore[misc]


def test_before_the_databases_exist_no_schema_work_is_planned(platform):
    plan = plan_children(platform, {}, Observation(), None)
    assert names(plan, "Job") == {
        build_database_provision_job(platform)["metadata"]["name"],
        *{n for n in names(plan, "Job") if n.startswith("chat-minio-bucket-")},
    }
    # Services with a database wait for their migration; the others are deployed at once.
    assert names(plan, "Deployment") == {
        "chat-relay", "chat-websocket", "chat-web",
    }  # fmt: skip
    assert plan.deploy_versions["auth"] is None
    assert plan.deploy_versions["relay"] == "1.0.0"
    assert plan.migration_jobs["auth"] == "chat-auth-migrate-1-0-0"


def test_an_open_gate_plans_the_migrations_then_the_deployments(platform):
    live: dict = {}
    seen = Observation(migration_gate_open=True)
    first = plan_children(platform, live, seen, None)
    assert set(first.migration_jobs.values()) <= names(first, "Job")
    for job in first.migration_jobs.values():
        live[("Job", job)] = DONE
    second = plan_children(platform, live, seen, None)
    assert {"chat-auth", "chat-users", "chat-media"} <= names(second, "Deployment")
    assert seen == Observation(migration_gate_open=True)  # planning changed nothing it read


def canary_walk(platform, phase):
    from messaging_operator.walks.canary import CANARY, Decision, WalkState
    from messaging_operator.walks.decisions import Walk

    settings = platform.spec.services["messages"].canary
    state = WalkState(CANARY, phase, "", "", 10, 0, 0, "", "", version=settings.version)
    return {"messages": Walk(settings, Decision(state))}


@pytest.mark.parametrize(
    ("phase", "rules"),
    [
        (
            "Progressing",
            ["messaging-operator", "messaging-operator-mirror", "messaging-operator-canary-match"],
        ),
        ("RolledBack", ["messaging-operator"]),  # no canary pods to send testers to
    ],
)
def test_testers_reach_the_canary_only_while_it_runs(make_platform, phase, rules):
    gateway = sample_platform_body()["spec"]["gateway"]
    platform = make_platform({"gateway": gateway}, sample="canary.yaml")
    seen = Observation(migration_gate_open=True, gateway_api_installed=True)
    plan = plan_children(platform, {}, seen, None, canary_walk(platform, phase))
    route = next(
        o
        for o in plan.objects
        if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "chat-messages"
    )
    assert [r["name"] for r in route["spec"]["rules"]] == rules
