"""Email verification: single-use, hashed, expiring link tokens, and a throttled resend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import redis
from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth_service import SERVICE
from auth_service.addresses import holds_address
from auth_service.core.security import hash_opaque_token, new_opaque_token
from auth_service.models import EVENTS, EmailVerification, User

INVALID = Problem(
    404, "invalid-verification-token", "Verification link not recognised", "request a new one"
)


@dataclass(frozen=True)
class Link:
    token: str
    url: str
    expires_at: datetime

    def event_data(self) -> dict[str, Any]:
        """What notifications needs to mail the link (see services/EVENTS.md)."""
        return {
            "verification_url": self.url,
            "verification_expires_at": self.expires_at.isoformat(),
        }


def user_event_data(user: User) -> dict[str, Any]:
    """Who the mail goes to, as `user.registered` and `user.verification_requested` say it."""
    return {
        "user_id": str(user.id),
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name or user.username,
    }


def link_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/verify-email?{urlencode({'token': token})}"


@dataclass(frozen=True)
class VerificationLinks:
    public_base_url: str
    ttl: timedelta
    redis: redis.Redis
    resend_max: int
    resend_window_seconds: int
    prefix: str

    def create(self, session: Session, user: User) -> Link:
        """A new token for the user; any older unused one stops working (only the newest mail's
        link is valid)."""
        now = datetime.now(UTC)
        session.execute(
            update(EmailVerification)
            .where(EmailVerification.user_id == user.id, EmailVerification.used_at.is_(None))
            .values(used_at=now)
        )
        token = new_opaque_token()
        expires_at = now + self.ttl
        session.add(
            EmailVerification(
                user_id=user.id, token_hash=hash_opaque_token(token), expires_at=expires_at
            )
        )
        return Link(token=token, url=link_url(self.public_base_url, token), expires_at=expires_at)

    def verify(self, session: Session, token: str) -> User:
        stored = session.scalars(
            select(EmailVerification)
            .where(EmailVerification.token_hash == hash_opaque_token(token))
            .with_for_update()
        ).first()
        if stored is None:
            raise INVALID
        user = session.get(User, stored.user_id)
        if user is None:
            raise INVALID
        if stored.used_at is not None:
            if user.email_verified_at is not None:
                return user  # the same link clicked twice: already done, say so kindly
            raise Problem(410, "verification-token-used", "This link was replaced by a newer one")
        now = datetime.now(UTC)
        if stored.expires_at <= now:
            raise Problem(
                410, "verification-token-expired", "This link has expired", "request a new one"
            )
        stored.used_at = now
        user.email_verified_at = user.email_verified_at or now
        session.commit()
        return user

    def resend(self, session: Session, user: User) -> Link:
        if user.email_verified_at is not None:
            raise Problem(409, "already-verified", "This email address is already verified")
        self._throttle(str(user.id))
        if not holds_address(user):
            # Registered with someone else's address (auth_service.registration): answered
            # like any resend, but nothing is mailed, to that address or any other.
            now = datetime.now(UTC)
            return Link(token="", url="", expires_at=now + self.ttl)
        link = self.create(session, user)
        add_event(
            session,
            EVENTS,
            "user.verification_requested",
            SERVICE,
            {**user_event_data(user), **link.event_data()},
        )
        session.commit()
        return link

    def _throttle(self, user_id: str) -> None:
        """At most resend_max mails per window and user. Unlike logins, a Redis outage
        refuses: a resend can wait, a mail flood cannot be taken back."""
        key = f"{self.prefix}:verification-resend:{user_id}"
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, self.resend_window_seconds, nx=True)
            pipe.ttl(key)
            count, _, ttl = pipe.execute()
        except redis.RedisError:
            raise Problem(
                503, "not-ready", "Resend is unavailable for a moment", "try again shortly"
            ) from None
        if int(count) > self.resend_max:
            retry_after = max(1, int(ttl))
            raise Problem(
                429,
                "verification-resend-throttled",
                "Too many verification mails",
                f"try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
