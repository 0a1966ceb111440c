"""Availability on the real node, under steady load through the gateway (seed: automatic
failover under 5 s, zero-downtime deployments). Relay's status endpoint is the load: an
authenticated read that goes gateway -> pod -> Redis.

- A relay pod killed outright (no grace) while two serve: how many requests fail, and how
  long until none do. kube's EndpointSlice follows the pod's deletion and Envoy Gateway sends
  the change to Envoy; until then a refused connect is retried on the other relay.
- A relay container crashed (SIGKILL) while its pod still counts as ready: only the requests
  it had in hand may fail; the gateway retries the refused connects on the other relay.
- A rolling update of relay to a new version: no request may fail. The Deployment surges one
  pod at a time and never drops below its count, a pod leaves the endpoints before it stops
  (preStop), and the services drain their requests on SIGTERM.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from e2e.kit import User
from testkit.kube import Kubectl, eventually
from testkit.platform import NAMESPACE, PLATFORM

from node.conftest import (
    kill_container,
    main_container,
    patch_platform,
    platform_ready,
    ready_pods,
    tag_image,
)
from node.load import SteadyLoad

pytestmark = [pytest.mark.node]

FAILOVER_SECONDS = 5.0  # the seed's availability target


def relay_status(user: User) -> SteadyLoad:
    headers = user.auth()
    return SteadyLoad(lambda client: client.get("/api/v1/relay/status", headers=headers))


@pytest.fixture
def two_relays(platform: Kubectl) -> Iterator[None]:
    patch_platform(platform, {"services": {"relay": {"replicas": 2}}})
    try:
        eventually(lambda: len(ready_pods(platform, "relay")) == 2, 120, "two ready relay pods")
        yield
    finally:
        patch_platform(platform, {"services": {"relay": {"replicas": 1}}})
        eventually(lambda: len(ready_pods(platform, "relay")) == 1, 120, "one relay pod again")


def test_a_killed_pod_is_failed_over_within_five_seconds(
    platform: Kubectl, user: User, two_relays: None
) -> None:
    with relay_status(user) as load:
        time.sleep(3)
        assert not load.failures(), f"failures before the kill: {load.failures()[:3]}"
        victim = ready_pods(platform, "relay")[0]
        killed = time.monotonic()
        platform.run(
            "delete", "pod", victim, "-n", NAMESPACE, "--grace-period=0", "--force", "--wait=false"
        )
        time.sleep(10)
    failed = load.failures(killed)
    print(f"pod {victim} killed: {load.summary(killed)}")
    disrupted = (failed[-1].at - killed) if failed else 0.0
    assert disrupted < FAILOVER_SECONDS, load.summary(killed)
    # The platform heals itself: a replacement pod, Ready.
    eventually(lambda: len(ready_pods(platform, "relay")) == 2, 120, "a replacement relay pod")


def test_a_crashed_container_fails_no_request_but_those_in_flight(
    platform: Kubectl, user: User, two_relays: None
) -> None:
    """One relay's processes SIGKILLed while its pod still counts as ready: the gateway's
    connects to it are refused and retried on the other relay (hack/gateway/gateway.yaml).
    Only a request the dead process had already taken can fail: at most one per client."""
    with relay_status(user) as load:
        time.sleep(3)
        victim = ready_pods(platform, "relay")[0]
        killed = time.monotonic()
        restarts = kill_container(platform, victim)
        time.sleep(10)
    print(f"relay container of {victim} SIGKILLed: {load.summary(killed)}")
    assert load.count(killed) > 200, load.summary(killed)
    assert len(load.failures(killed)) <= load.threads, load.summary(killed)

    def restarted() -> bool:
        return main_container(platform, victim)["restartCount"] > restarts

    eventually(restarted, 60, f"the kubelet to restart {victim}'s container")
    eventually(lambda: len(ready_pods(platform, "relay")) == 2, 120, "both relays ready again")


def test_a_rolling_update_fails_no_request(platform: Kubectl, user: User, two_relays: None) -> None:
    tag_image("relay", "1.0.1")
    with relay_status(user) as load:
        time.sleep(3)
        began = time.monotonic()
        patch_platform(platform, {"services": {"relay": {"version": "1.0.1"}}})
        try:

            def rolled() -> bool:
                deploy = platform.json("get", "deployment", f"{PLATFORM}-relay", "-n", NAMESPACE)
                status = deploy.get("status") or {}
                image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
                return (
                    image.endswith(":1.0.1")
                    and status.get("updatedReplicas") == 2
                    and status.get("availableReplicas") == 2
                    and status.get("replicas") == 2
                )

            eventually(rolled, 180, "relay rolled out at 1.0.1")
            time.sleep(5)  # the old pods' drain and exit, under load too
        finally:
            pass
    print(f"rolling update to 1.0.1: {load.summary(began)}")
    try:
        assert load.count(began) > 100
        assert not load.failures(began), load.summary(began)
    finally:
        patch_platform(platform, {"services": {"relay": {"version": None}}})
        eventually(lambda: platform_ready(platform), 180, "the platform Ready at 1.0.0 again")
