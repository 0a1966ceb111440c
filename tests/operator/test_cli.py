"""kubectl mp's pure parts: rows from a recorded status, the history filter, the patches."""

from __future__ import annotations

import pytest
from messaging_operator.cli import (
    KubectlError,
    analysis_text,
    check_walk,
    history_rows,
    next_gate,
    table,
    walk_patch,
    walk_rows,
)

PLATFORM = {
    "metadata": {"name": "chat", "namespace": "demo"},
    "spec": {"version": "1.0.0", "services": {"relay": {"canary": {"version": "1.1.0"}}}},
    "status": {
        "services": {
            "auth": {"routeWeights": {"legacy": 0, "stable": 100, "canary": 0}},
            "relay": {
                "routeWeights": {"legacy": 0, "stable": 90, "canary": 10},
                "canary": {
                    "kind": "canary", "phase": "Progressing", "weight": 10, "step": 0,
                    "version": "1.1.0", "stableVersion": "1.0.0", "message": "canary 1.1.0 at 10%",
                    "analysis": {"verdict": "pass", "requests": 1204, "errorRate": 0.002,
                                 "p95LatencyMs": 41.0},
                },
            },
        }
    },
}  # fmt: skip


def test_a_walking_service_is_a_row_with_its_weights_and_numbers():
    assert walk_rows(PLATFORM) == [
        [
            "relay", "canary", "Progressing", "10%", "0", "1.0.0 -> 1.1.0", "0/90/10",
            "pass: 1,204 req, 0.2% errors, p95 41 ms", "canary 1.1.0 at 10%",
        ]
    ]  # fmt: skip


def test_no_analysis_yet_reads_as_a_dash():
    assert analysis_text(None) == "-"
    assert analysis_text({"verdict": "wait"}) == "wait"


def test_the_table_lines_up_its_columns():
    assert table(["A", "BB", "C"], [["xxx", "y", "z"]]).splitlines() == [
        "A     BB   C",
        "xxx   y    z",
    ]


def test_history_is_the_walk_events_of_one_service_oldest_first():
    events = [
        {"reason": "StepAdvanced", "type": "Normal", "message": "relay: canary 1.1.0 at 50%",
         "lastTimestamp": "2026-12-07T10:02:00Z"},
        {"reason": "WalkStarted", "type": "Normal", "message": "relay: canary 1.1.0 at 10%",
         "lastTimestamp": "2026-12-07T10:00:00Z"},
        {"reason": "WalkStarted", "type": "Normal", "message": "auth: canary 2.0.0 at 10%",
         "lastTimestamp": "2026-12-07T10:01:00Z"},
        {"reason": "Applied", "type": "Normal", "message": "Deployment/chat-relay",
         "lastTimestamp": "2026-12-07T10:00:30Z"},
    ]  # fmt: skip
    assert [row[2] for row in history_rows(events, "relay")] == ["WalkStarted", "StepAdvanced"]
    assert len(history_rows(events, None)) == 3  # every walk event, no Applied


def test_switches_are_merge_patches_of_the_walk():
    assert walk_patch("relay", "canary", "promote", True) == {
        "spec": {"services": {"relay": {"canary": {"promote": True}}}}
    }


@pytest.mark.parametrize(
    ("service", "kind", "message"),
    [
        ("nosuch", "canary", "no service 'nosuch'"),
        ("auth", "canary", "auth declares no canary"),
        ("auth", "migration", "auth declares no migration"),
    ],
)
def test_a_switch_on_nothing_is_refused_before_any_patch(service, kind, message):
    with pytest.raises(KubectlError, match=message):
        check_walk(PLATFORM, service, kind)


def gated(weight: int, approved: int = 0) -> dict:
    spec = {"version": "1.1.0", "steps": [10, 50, 100], "gates": [50, 100], "approved": approved}
    return {
        "spec": {"services": {"relay": {"canary": spec}}},
        "status": {"services": {"relay": {"canary": {"weight": weight}}}},
    }


def test_approve_opens_the_gate_ahead_of_the_walk():
    assert next_gate(gated(10), "relay", "canary") == 50
    assert next_gate(gated(50, approved=50), "relay", "canary") == 100
    with pytest.raises(KubectlError, match="no gate left"):
        next_gate(gated(100, approved=100), "relay", "canary")


@pytest.mark.parametrize(
    "argv",
    [["-n", "demo", "get", "chat"], ["get", "chat", "-n", "demo"], ["get", "-n", "demo", "chat"]],
)
def test_the_namespace_goes_before_or_after_the_command_as_with_kubectl(argv):
    from messaging_operator.cli import parser

    args = parser().parse_args(argv)
    assert (args.command, args.name, args.namespace) == ("get", "chat", "demo")
