"""Who may be put into a group without being asked: those who accepted the adder as a
contact. users owns contacts; groups asks it over its internal endpoint.

When users cannot answer, nobody counts as consenting, so everyone is invited rather than
added (the safe side: an invitation costs a tap, an unwanted membership a privacy leak).
Without a `contacts_url` at all (a groups process run alone, as in its own test suite) adds
stay direct, as blocks are not judged without a `blocks_url`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection

import httpx
from messaging_kit.internal import internal_headers

log = logging.getLogger(__name__)


def consenting(
    contacts_url: str, token: str, adder: uuid.UUID, users: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `users` who may be added by `adder` directly."""
    if not users:
        return set()
    if not contacts_url:
        return set(users)
    try:
        response = httpx.get(
            contacts_url,
            params={"contact_id": str(adder), "user_id": [str(u) for u in users]},
            headers=internal_headers(token),
            timeout=5.0,
        )
        response.raise_for_status()
        return {uuid.UUID(u) for u in response.json()["accepting"]} & set(users)
    except (httpx.HTTPError, ValueError, KeyError) as error:
        log.warning("contacts unavailable: inviting everyone", extra={"error": repr(error)})
        return set()
