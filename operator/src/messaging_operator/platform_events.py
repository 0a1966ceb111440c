"""Events on the MessagingPlatform (what `kubectl describe mp` shows beside the conditions)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from messaging_operator.builders.metadata import MANAGED_BY
from messaging_operator.kube import ApiError, KubeClient

log = logging.getLogger(__name__)


async def post_event(
    client: KubeClient, body: dict[str, Any], kind: str, reason: str, message: str
) -> None:
    meta = body["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": body["apiVersion"],
            "kind": body["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": kind,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": MANAGED_BY},
        "reportingComponent": MANAGED_BY,
        "reportingInstance": MANAGED_BY,
        "firstTimestamp": now[:19] + "Z",
        "lastTimestamp": now[:19] + "Z",
        "count": 1,
    }
    try:
        await client.create(event)
    except ApiError as error:  # an event lost is no reason to fail the reconcile
        log.warning("could not post event %s: %s", reason, error)
