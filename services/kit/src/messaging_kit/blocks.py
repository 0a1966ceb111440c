"""Who blocked whom, known to every service process within a second of the user deciding.

The one place a block is judged outside users (which owns blocks and checks its own rows):
`BlockList.between(a, b)` is True when either blocked the other, and every path that lets one
user reach another asks it: groups (adding a member, delivering a post), websocket (presence,
last seen, typing), media (sharing an attachment). messages keeps its own transactional
mirror of the same events for sends and receipts.

Fed like the revocation list (messaging_kit.revocations): an exclusive, auto-delete queue
bound to `contact.blocked`, `contact.unblocked` and `user.deleted`, and users' snapshot
(`GET /internal/v1/blocks`, service credentials) loaded each time that queue is declared and
every `BLOCKS_REFRESH_SECONDS`. In memory: two dict lookups per check, no I/O. Its size is one
entry per block on the platform (tens of bytes each); a platform with tens of millions of
blocks would want a shared store instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from messaging_kit.revocations import RevocationFeed

BLOCK_EVENTS = ("contact.blocked", "contact.unblocked", "user.deleted")
SNAPSHOT_PATH = "/internal/v1/blocks"


@dataclass
class BlockList:
    """blocked[owner] = the users owner blocked. Replaced, never mutated, so readers in other
    threads never see a half update."""

    blocked: dict[str, frozenset[str]] = field(default_factory=dict)
    loaded: threading.Event = field(default_factory=threading.Event)

    def blocks(self, owner: str, other: str) -> bool:
        """Whether `owner` blocked `other`."""
        return str(other) in self.blocked.get(str(owner), frozenset())

    def between(self, a: object, b: object) -> bool:
        """Whether either of the two blocked the other: then neither reaches the other."""
        first, second = str(a), str(b)
        return self.blocks(first, second) or self.blocks(second, first)

    def blocked_with(self, user: object, others: Iterable[object]) -> set[str]:
        """Those of `others` that `user` blocked or that blocked `user`."""
        return {str(other) for other in others if self.between(user, other)}

    def replace(self, snapshot: dict[str, Any]) -> None:
        blocked: dict[str, set[str]] = {}
        for owner, other in snapshot.get("blocks", []):
            blocked.setdefault(str(owner), set()).add(str(other))
        self.blocked = {owner: frozenset(others) for owner, others in blocked.items()}
        self.loaded.set()

    def apply(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type == "user.deleted":
            user = str(data.get("user_id") or "")
            self.blocked = {
                owner: others - {user} for owner, others in self.blocked.items() if owner != user
            }
            return
        owner, other = str(data.get("owner_id") or ""), str(data.get("contact_id") or "")
        if not owner or not other:
            return
        current = self.blocked.get(owner, frozenset())
        if event_type == "contact.blocked":
            self.blocked = {**self.blocked, owner: current | {other}}
        elif event_type == "contact.unblocked" and other in current:
            self.blocked = {**self.blocked, owner: current - {other}}


def attach_blocks(app: Any) -> RevocationFeed | None:
    """Feed `app.state.blocks` when the service knows where users' snapshot is (`blocks_url`)
    and is on the broker. Called by the kit's app lifespan."""
    settings = getattr(app.state, "settings", None)
    blocks_url = getattr(settings, "blocks_url", "")
    amqp_url = getattr(settings, "amqp_url", None)
    if not blocks_url or not amqp_url:
        return None
    from messaging_kit.revocations import RevocationFeed  # needs the events extra

    # The revocation feed's machinery, bound to the block events.
    feed = RevocationFeed(
        app.state.blocks,
        amqp_url=amqp_url,
        exchange=getattr(settings, "events_exchange", "messaging.events"),
        snapshot_url=blocks_url,
        refresh_seconds=getattr(settings, "blocks_refresh_seconds", 300.0),
        internal_token=getattr(settings, "internal_token", ""),
        events=BLOCK_EVENTS,
        thread_name="block-feed",
    )
    feed.start()
    app.state.block_feed = feed
    return feed
