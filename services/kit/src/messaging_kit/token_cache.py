"""A bounded LRU of access tokens whose signature and claims were already verified.

A client sends the same token on every request until it expires; checking its Ed25519
signature and claims again each time was the largest cost of an authenticated read after
the database. Only that pure, deterministic result is cached (the claims, until `exp`):
anything that can change while a token lives (revocation, a key withdrawn from the JWKS) is
still checked on every request by the caller.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_ENTRIES = 4096


@dataclass(frozen=True)
class VerifiedToken:
    kid: str
    claims: dict[str, Any]
    expires_at: float


class VerifiedTokenCache:
    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()  # sync dependencies verify from the threadpool

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> VerifiedToken | None:
        """The verified token, unless unknown or past its exp (then it is dropped)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if self.clock() >= entry.expires_at:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry

    def put(self, token: str, kid: str, claims: dict[str, Any]) -> None:
        # Cached only until exp, without the verifier's leeway: past exp it is verified afresh.
        expires_at = float(claims["exp"])
        if self.max_entries <= 0 or self.clock() >= expires_at:
            return
        with self._lock:
            self._entries[token] = VerifiedToken(kid, claims, expires_at)
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
