"""Refused children make one short Ready message: each cause once, REASON the kind of refusal."""

from __future__ import annotations

from typing import Any

from messaging_operator.apply_failures import describe_failures, failure_of
from messaging_operator.condition_messages import MESSAGE_LIMIT, bounded
from messaging_operator.kube import ApiError
from messaging_operator.status import Check, merge_conditions

LONG = "a-platform-name-far-too-long-for-its-children-to-fit-anywhere"


def invalid(kind: str, name: str, field: str, value: str, rule: str) -> ApiError:
    """A 422 as the API server words it (the value it refused is quoted in every cause)."""
    cause = f'Invalid value: "{value}": {rule}'
    return ApiError(
        422,
        {
            "kind": "Status",
            "status": "Failure",
            "message": f'{kind} "{name}" is invalid: {field}: {cause}',
            "reason": "Invalid",
            "details": {
                "name": name,
                "kind": kind.lower(),
                "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": field}],
            },
            "code": 422,
        },
    )


def obj(kind: str, name: str) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name}}


def label_too_long(kind: str, component: str):
    name = f"{LONG}-{component}"
    error = invalid(kind, name, "metadata.labels", name, "must be no more than 63 characters")
    return failure_of(obj(kind, name), error)


def test_one_cause_on_every_child_is_said_once_in_a_short_message():
    kinds = ["Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HTTPRoute"]
    services = ["auth", "users", "messages", "groups", "media", "relay", "notifications"]
    failures = [label_too_long(kind, service) for kind in kinds for service in services]
    check = describe_failures(failures)
    assert check.reason == "ChildInvalid"
    assert check.failed
    assert len(check.message) <= MESSAGE_LIMIT
    assert check.message.count("must be no more than 63 characters") == 1
    assert check.message.startswith("35 objects refused: metadata.labels: must be no more than")
    assert f"Deployment {LONG}-auth" in check.message
    assert "and 33 more" in check.message


def test_distinct_causes_are_each_named():
    failures = [
        label_too_long("Deployment", "auth"),
        failure_of(
            obj("Deployment", "chat-users"),
            invalid(
                "Deployment",
                "chat-users",
                "spec.template.spec.containers[0].resources.requests",
                "512Mi",
                "must be less than or equal to memory limit of 256Mi",
            ),
        ),
    ]
    message = describe_failures(failures).message
    assert "metadata.labels: must be no more than 63 characters" in message
    assert "resources.requests: must be less than or equal to memory limit" in message
    assert message.startswith("2 objects refused")


def test_reason_follows_the_commonest_refusal():
    forbidden = ApiError(
        403,
        {
            "kind": "Status",
            "message": 'cronjobs.batch "chat-auth-backup" is forbidden: User "op" cannot patch'
            ' resource "cronjobs" in API group "batch"',
            "reason": "Forbidden",
            "code": 403,
        },
    )
    failures = [
        failure_of(obj("CronJob", name), forbidden)
        for name in ("chat-auth-backup", "chat-users-backup")
    ]
    failures.append(label_too_long("Service", "auth"))
    check = describe_failures(failures)
    assert check.reason == "ChildForbidden"
    assert 'User "op" cannot patch resource "cronjobs"' in check.message


def test_unknown_failures_read_as_the_api_servers():
    check = describe_failures(
        [failure_of(obj("Service", "chat-auth"), ApiError(503, "upstream connect error"))]
    )
    assert check.reason == "APIServerError"
    assert check.message == "1 object refused: HTTP 503: upstream connect error (Service chat-auth)"


def test_condition_messages_are_one_bounded_line():
    long_message = "line one\nline two\t" + "x" * 2000
    assert bounded(long_message).startswith("line one line two x")
    assert len(bounded(long_message)) == MESSAGE_LIMIT
    assert bounded(long_message).endswith("…")
    (condition,) = merge_conditions(
        None, {"Ready": Check("False", "Whatever", long_message)}, 1, "2026-12-07T00:00:00Z"
    )
    assert "\n" not in condition["message"]
    assert len(condition["message"]) <= MESSAGE_LIMIT
