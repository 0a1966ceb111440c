"""Whether this replica is the one that works, read from kopf's own peering record.

kopf pauses a replica's watches while a peer of higher (or equal) priority is alive, but work
this operator starts itself goes on regardless: the resync pass, a canary's analysis queued for
later, a reconcile already queued when the pause began. Each of those asks `PeerGate.active`
first, so two replicas never reconcile one platform at once.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_operator.kube import KubeClient

# How long "active" is trusted: the working replica reads the record at most this often. A
# replica that has just lost to a new peer may finish what it started within this window.
CACHE_SECONDS = 2.0


def own_identity() -> str:
    """This process's id in the peering record (kopf is handed the same one)."""
    pod = os.environ.get("POD_ID") or os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{pod}/{os.getpid()}/{secrets.token_hex(3)}"


OWN_ID = own_identity()


def yields_to_a_peer(status: dict[str, Any], own_id: str, own_priority: int, now: datetime) -> bool:
    """True while another live peer has a priority >= ours (kopf pauses on a tie, too)."""
    for peer, info in status.items():
        if peer == own_id or not isinstance(info, dict):
            continue
        try:
            seen = datetime.fromisoformat(str(info["lastseen"]))
        except (KeyError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        if seen + timedelta(seconds=int(info.get("lifetime", 60))) <= now:
            continue  # dead: kopf cleans it up
        if int(info.get("priority", 0)) >= own_priority:
            return True
    return False


class PeerGate:
    """Standalone (no peering name): always active."""

    def __init__(self, client: KubeClient, name: str, priority: int, clusterwide: bool) -> None:
        self.client = client
        self.name = name
        self.priority = priority
        self.clusterwide = clusterwide
        # When each scope was last found active: trusted for CACHE_SECONDS.
        self._active_since: dict[str, float] = {}

    async def active(self, namespace: str) -> bool:
        if not self.name:
            return True
        scope = "" if self.clusterwide else namespace
        since = self._active_since.get(scope)
        if since is not None and time.monotonic() - since < CACHE_SECONDS:
            return True
        kind = "ClusterKopfPeering" if self.clusterwide else "KopfPeering"
        record = await self.client.get(kind, scope or None, self.name)
        status = (record or {}).get("status") or {}
        if yields_to_a_peer(status, OWN_ID, self.priority, datetime.now(UTC)):
            # Never cached: right after kopf resumes this replica, the events it replays must
            # not meet a "paused" answer from a moment before.
            self._active_since.pop(scope, None)
            return False
        self._active_since[scope] = time.monotonic()
        return True
