"""Whose presence a viewer may see, asked of users (which owns contacts and each user's
presence setting; see users_service.presence_audience) for every presence answer.

Closed by default: with no `presence_audience_url`, or when users cannot answer, a viewer sees
only their own presence, and everyone else is shown offline and never seen, the same answer
as for a stranger or an unknown id. Presence is asked for when a chat opens, not per message,
so one loopback round trip per answer is cheap next to what it protects.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import httpx
from messaging_kit.internal import internal_headers

log = logging.getLogger(__name__)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class PresenceAudience:
    def __init__(self, url: str, token: str, timeout: float = 2.0) -> None:
        self.url = url
        self.token = token
        self.client = httpx.AsyncClient(timeout=timeout, headers=internal_headers(token))

    async def visible(self, viewer: str, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` that show `viewer` their presence."""
        own = {viewer} & set(user_ids)
        # Only well-formed ids are asked about (one bad id must not hide the others); the
        # rest are nobody's, hidden like strangers.
        others = [user for user in user_ids if user != viewer and is_uuid(user)]
        if not self.url or not others:
            return own
        try:
            response = await self.client.get(
                self.url, params={"viewer": viewer, "user_id": others[:100]}
            )
            response.raise_for_status()
            return own | set(response.json()["visible"])
        except (httpx.HTTPError, ValueError, KeyError) as error:
            log.warning("presence audience unavailable", extra={"error": repr(error)})
            return own

    async def close(self) -> None:
        await self.client.aclose()
