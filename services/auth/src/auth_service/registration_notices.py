"""A registration naming an email address that already has an account tells that account's
owner by mail (`user.registration_attempted`, mailed by notifications): it was either them,
having forgotten they have an account, or someone probing which addresses are registered.
At most one mail per account per `interval_seconds`, so the probe cannot flood the inbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from messaging_kit.events import add_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth_service import SERVICE
from auth_service.models import EVENTS, User
from auth_service.verification import user_event_data

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistrationNotices:
    redis: redis.Redis
    prefix: str
    interval_seconds: int = 3600

    def notify_owner(self, session: Session, email: str) -> bool:
        """Queue the notice in the caller's transaction (it commits); True when one was."""
        owner = session.scalars(select(User).where(User.email == email)).first()
        if owner is None:
            return False
        key = f"{self.prefix}:registration-notice:{owner.id}"
        try:
            if not self.redis.set(key, 1, nx=True, ex=self.interval_seconds):
                return False
        except redis.RedisError as error:
            log.warning("registration notice skipped", extra={"error": repr(error)})
            return False
        add_event(
            session,
            EVENTS,
            "user.registration_attempted",
            SERVICE,
            {**user_event_data(owner), "attempted_at": datetime.now(UTC).isoformat()},
        )
        return True
