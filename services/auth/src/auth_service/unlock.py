"""Mailed unlock links: what keeps the account-wide login limit from being turned against the
owner. Guessing spread over many addresses backs off the account for every address it never
logged in from; the owner on a new device would be slowed too. When the account first passes
that limit in a window, its owner gets one mail with a single-use link: opening it clears the
account's counters and makes the address it is opened from a known one (exempt from the
account-wide limit), so the owner gets in wherever they are while the guessers stay slowed.

Tokens live in Redis, hashed, for `ttl_seconds`; at most one mail per account per ttl, so a
guesser cannot flood the owner's inbox either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import redis
from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from sqlalchemy.orm import Session

from auth_service import SERVICE
from auth_service.addresses import holds_address
from auth_service.core.security import hash_opaque_token, new_opaque_token
from auth_service.models import EVENTS, User
from auth_service.verification import user_event_data

log = logging.getLogger(__name__)

INVALID = Problem(
    404, "invalid-unlock-token", "Unlock link not recognised", "it was used, or it expired"
)


@dataclass(frozen=True)
class UnlockLinks:
    redis: redis.Redis
    public_base_url: str
    ttl_seconds: int
    prefix: str

    def _token_key(self, token: str) -> str:
        return f"{self.prefix}:unlock:{hash_opaque_token(token)}"

    def offer(self, session: Session, user: User) -> bool:
        """Mail the owner a link, once per ttl; True when one was queued (committed). An
        account holding no address of its own (auth_service.registration) gets none."""
        if not holds_address(user):
            return False
        try:
            if not self.redis.set(
                f"{self.prefix}:unlock-mailed:{user.id}", 1, nx=True, ex=self.ttl_seconds
            ):
                return False
            token = new_opaque_token()
            self.redis.set(self._token_key(token), str(user.id), ex=self.ttl_seconds)
        except redis.RedisError as error:
            log.warning("unlock link unavailable", extra={"error": repr(error)})
            return False
        base = self.public_base_url.rstrip("/")
        expires_at = datetime.now(UTC) + timedelta(seconds=self.ttl_seconds)
        add_event(
            session,
            EVENTS,
            "user.login_locked",
            SERVICE,
            {
                **user_event_data(user),
                "unlock_url": f"{base}/unlock-login?{urlencode({'token': token})}",
                "unlock_expires_at": expires_at.isoformat(),
            },
        )
        session.commit()
        return True

    def redeem(self, token: str) -> str:
        """The account id the token unlocks; single use."""
        try:
            account = self.redis.getdel(self._token_key(token))
        except redis.RedisError:
            raise Problem(503, "not-ready", "Unlock is unavailable for a moment") from None
        if account is None:
            raise INVALID
        return account.decode() if isinstance(account, bytes) else str(account)
