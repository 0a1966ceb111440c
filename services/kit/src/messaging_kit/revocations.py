"""Revoked principals, known to every service process within a second of auth deciding.

Auth publishes `user.suspended`, `user.unsuspended`, `user.tokens_revoked`, `user.deleted` and
`user.session_revoked` (one login's tokens: logout, or a reused refresh token).
Each process keeps them in memory (a set and a dict: the token check stays a lookup), fed by
its own exclusive, auto-delete queue on the events exchange and loaded from auth's snapshot
(`GET /internal/v1/revocations`) each time that queue is (re)declared, so a replica that starts
later, or missed events while the broker was away, still knows.

The snapshot is fetched after the queue is bound and applied before any queued event, by the
one feed thread: an event newer than the snapshot is still in the queue and wins; an older
one is already in the snapshot (auth publishes only after committing).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from messaging_kit.events.broker import declare_exchange
from messaging_kit.events.broker_worker import BrokerWorker
from messaging_kit.events.envelope import parse_event
from messaging_kit.internal import internal_headers

log = logging.getLogger(__name__)

REVOCATION_EVENTS = (
    "user.suspended",
    "user.unsuspended",
    "user.tokens_revoked",
    "user.deleted",
    "user.session_revoked",
)
SNAPSHOT_PATH = "/internal/v1/revocations"


@dataclass
class RevocationList:
    """Who may not use their tokens: suspended (or deleted) users, per-user cut-off times
    (a token issued before `not_before[user]` is refused), and ended sessions (a token whose
    `sid` claim is in `sessions` is refused; the value is when the last access token of that
    session expires anyway, after which the entry is dropped)."""

    suspended: frozenset[str] = frozenset()
    not_before: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)
    loaded: threading.Event = field(default_factory=threading.Event)

    def refusal(self, user_id: str, issued_at: float, session_id: str | None = None) -> str | None:
        """Why this token is refused, or None. Three lookups, no I/O."""
        if user_id in self.suspended:
            return "account suspended or deleted"
        cut_off = self.not_before.get(user_id)
        if cut_off is not None and issued_at < cut_off:
            return "token revoked; log in again"
        if session_id is not None and session_id in self.sessions:
            return "session ended; log in again"
        return None

    def replace(self, snapshot: dict[str, Any]) -> None:
        # New objects swapped in whole: readers in other threads never see a half update.
        self.suspended = frozenset(str(user) for user in snapshot.get("suspended", []))
        self.not_before = {
            str(user): float(when) for user, when in (snapshot.get("not_before") or {}).items()
        }
        # Older auths send no sessions: keep what events told us until their entries lapse.
        sessions = snapshot.get("sessions")
        if sessions is not None:
            now = time.time()
            self.sessions = {
                str(sid): float(until)
                for sid, until in {**self.sessions, **sessions}.items()
                if float(until) > now
            }
        self.loaded.set()

    def apply(self, event_type: str, data: dict[str, Any]) -> None:
        user_id = str(data.get("user_id") or "")
        if not user_id:
            return
        if event_type == "user.session_revoked":
            session_id = str(data.get("session_id") or "")
            if session_id:
                until = float(data.get("expires_at") or time.time() + 86400)
                now = time.time()
                # Copy-on-write (readers in other threads), pruning what has lapsed.
                self.sessions = {
                    **{sid: end for sid, end in self.sessions.items() if end > now},
                    session_id: until,
                }
            return
        if event_type in ("user.suspended", "user.deleted"):
            self.suspended = self.suspended | {user_id}
        elif event_type == "user.unsuspended":
            self.suspended = self.suspended - {user_id}
        if "not_before" in data:
            cut_off = float(data["not_before"])
            # Only ever later: a replayed old event must not shorten a newer revocation.
            if cut_off > self.not_before.get(user_id, float("-inf")):
                self.not_before = {**self.not_before, user_id: cut_off}


class FedList(Protocol):
    """What a feed keeps current: a RevocationList, a BlockList."""

    loaded: threading.Event

    def replace(self, snapshot: dict[str, Any]) -> None: ...

    def apply(self, event_type: str, data: dict[str, Any]) -> None: ...


def snapshot_url_from_jwks(jwks_url: str) -> str:
    """Auth serves the snapshot beside its JWKS: same scheme, host and port."""
    parts = urlsplit(jwks_url)
    return urlunsplit((parts.scheme, parts.netloc, SNAPSHOT_PATH, "", ""))


class RevocationFeed(BrokerWorker):
    """The thread keeping one RevocationList current. Also the shape of every such list fed
    by events plus a snapshot (messaging_kit.blocks): `events` are bound, the target's
    `replace(snapshot)` and `apply(type, data)` keep it."""

    thread_name = "revocation-feed"
    events: tuple[str, ...] = REVOCATION_EVENTS
    auto_ack = True  # a private, auto-deleted queue: the snapshot, not redelivery, covers gaps

    def __init__(
        self,
        revocations: FedList,
        *,
        amqp_url: str,
        exchange: str,
        snapshot_url: str,
        refresh_seconds: float = 300.0,
        max_backoff_seconds: float = 5.0,
        internal_token: str = "",
        events: tuple[str, ...] | None = None,
        thread_name: str | None = None,
    ) -> None:
        super().__init__(amqp_url)
        if events is not None:
            self.events = events
        if thread_name is not None:
            self.thread_name = thread_name
        self.revocations = revocations
        self.internal_token = internal_token
        self.exchange = exchange
        self.queue = ""
        self.snapshot_url = snapshot_url
        self.refresh_seconds = refresh_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._tried_at, self._loaded = 0.0, False

    def load_snapshot(self) -> bool:
        try:
            response = httpx.get(
                self.snapshot_url, timeout=5.0, headers=internal_headers(self.internal_token)
            )
            response.raise_for_status()
            self.revocations.replace(response.json())
            return True
        except (httpx.HTTPError, ValueError) as error:
            log.warning(
                "revocation snapshot unavailable, retrying",
                extra={"url": self.snapshot_url, "error": repr(error)},
            )
            return False

    def retrying(self, error: BaseException) -> str:
        return "revocation feed lost the broker"

    def bind(self, channel: Any) -> None:
        declare_exchange(channel, self.exchange)
        self.queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        for key in self.events:
            channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=key)

    def consuming(self, channel: Any) -> None:
        self._tried_at, self._loaded = time.monotonic(), self.load_snapshot()

    def deliver(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            event = parse_event(body)
            self.revocations.apply(event.type, event.data)
        except (ValueError, TypeError) as error:
            log.warning("bad revocation event ignored", extra={"error": repr(error)})

    def idle(self, channel: Any) -> None:
        # Reload the snapshot when due (it also prunes), soon if it never arrived.
        if time.monotonic() - self._tried_at >= (self.refresh_seconds if self._loaded else 2.0):
            self._tried_at, self._loaded = time.monotonic(), self.load_snapshot()

    def consumed(self, channel: Any) -> None:
        channel.cancel()


def attach_revocations(app: Any) -> RevocationFeed | None:
    """Give the app's TokenVerifier a RevocationList and start its feed, when the service
    verifies tokens (has `jwks_url`) and is on the broker (has `amqp_url`). Called by the
    kit's app lifespan: services need no code of their own."""
    settings = getattr(app.state, "settings", None)
    verifier = getattr(app.state, "verifier", None)
    jwks_url = getattr(settings, "jwks_url", None)
    amqp_url = getattr(settings, "amqp_url", None)
    if verifier is None or not jwks_url or not amqp_url:
        return None
    if not getattr(settings, "revocations_enabled", True):
        return None
    revocations = RevocationList()
    verifier.revocations = revocations
    feed = RevocationFeed(
        revocations,
        amqp_url=amqp_url,
        exchange=getattr(settings, "events_exchange", "messaging.events"),
        snapshot_url=getattr(settings, "revocations_url", "") or snapshot_url_from_jwks(jwks_url),
        refresh_seconds=getattr(settings, "revocations_refresh_seconds", 300.0),
        internal_token=getattr(settings, "internal_token", ""),
    )
    feed.start()
    app.state.revocation_feed = feed
    return feed
