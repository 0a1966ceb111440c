"""The platform's own stores as pods: PostgreSQL deleted mid-traffic comes back on its volume,
the services recover on their own, and no message the platform acknowledged (201) is lost."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from e2e.kit import User, conversation_id, register
from testkit.kube import Kubectl, eventually
from testkit.platform import NAMESPACE, PLATFORM

from node.conftest import ready_pods

pytestmark = [pytest.mark.node]


def send(
    sender: User, recipient: User, key: bytes, client: httpx.Client, n: int
) -> tuple[int, str | None]:
    """One sealed message, as a client sends it; (status or 0, its id when acknowledged)."""
    sealed = sender.seal(json.dumps({"n": n}).encode(), {recipient.id: key})
    body = {"recipient_id": str(recipient.id), "idempotency_key": uuid.uuid4().hex, **sealed.body()}
    try:
        answer = client.post("/api/v1/messages", json=body, headers=sender.auth())
    except httpx.HTTPError as error:
        return 0, type(error).__name__
    return answer.status_code, answer.json().get("id") if answer.status_code == 201 else None


def test_postgres_deleted_mid_traffic_loses_no_acknowledged_message(
    platform: Kubectl, gateway: httpx.Client
) -> None:
    alice, bob = register(gateway, "pgalice"), register(gateway, "pgbob")
    bobs_key = alice.published_key_of(bob.id)  # looked up once, as a client caches it
    acknowledged: list[str] = []
    statuses: dict[str, int] = {}
    deleted = first_failure = last_failure = None
    with httpx.Client(base_url=str(gateway.base_url), timeout=10) as client:
        began = time.monotonic()
        n = 0
        while time.monotonic() - began < 60:
            n += 1
            status, sent = send(alice, bob, bobs_key, client, n)
            key = str(status) if status else (sent or "error")
            statuses[key] = statuses.get(key, 0) + 1
            if status == 201 and sent:
                acknowledged.append(sent)
            elif deleted is not None:
                first_failure = first_failure or time.monotonic()
                last_failure = time.monotonic()
            if deleted is None and n == 20:
                platform.run(
                    "delete", "pod", f"{PLATFORM}-postgres-0", "-n", NAMESPACE, "--wait=false"
                )
                deleted = time.monotonic()
            if deleted and last_failure and time.monotonic() - last_failure > 10:
                break  # whole again for 10 s
            time.sleep(0.05)
    assert deleted is not None
    recovered = (last_failure - deleted) if last_failure else 0.0
    print(
        f"PostgreSQL pod deleted: {sum(statuses.values())} sends {statuses}; "
        f"sends failed for {recovered:.1f} s after the delete; {len(acknowledged)} acknowledged"
    )
    assert statuses.get("201", 0) > 20, statuses
    # Whatever failed failed as a retryable answer, never as a lost write.
    assert set(statuses) <= {"201", "503", "502", "504"}, statuses
    eventually(lambda: ready_pods(platform, "postgres"), 120, "PostgreSQL Ready again")
    # Every acknowledged message is in the conversation's history, read back through the gateway.
    history: set[str] = set()
    conversation = conversation_id(alice.id, bob.id)
    cursor = None
    while True:
        params = {"limit": 200, **({"before": cursor} if cursor else {})}
        page = bob.get(f"/api/v1/conversations/{conversation}/messages", params=params)
        history |= {m["id"] for m in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    lost = set(acknowledged) - history
    assert not lost, f"{len(lost)} acknowledged messages missing after the restart"
