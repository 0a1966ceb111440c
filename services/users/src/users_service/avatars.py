"""An avatar may only name media its user uploaded: media (which owns the blobs) is asked.

Otherwise anyone could show someone else's private picture as their own avatar, and whatever
renders avatars would then fetch it for every viewer. Asked over media's internal endpoint with
the service credential; a media id that does not exist and one that is someone else's get the
same answer, so the check tells nobody which ids exist.
"""

from __future__ import annotations

import uuid

import httpx
from messaging_kit.internal import internal_headers
from messaging_kit.problems import Problem

# 403, not 422: the request is well formed, the media is just not the user's to use.
NOT_YOURS = Problem(
    403,
    "avatar-not-owned",
    "An avatar must be media you uploaded",
    "upload the picture yourself (POST /api/v1/media/upload), then name its id",
)


def unavailable(detail: str) -> Problem:
    return Problem(
        503,
        "media-unavailable",
        "Avatars cannot be checked now",
        detail,
        headers={"Retry-After": "1"},
    )


def require_own_media(media_url: str, token: str, owner: uuid.UUID, media_id: uuid.UUID) -> None:
    """Return when `owner` uploaded `media_id`, else raise a problem (403, or 503 when media
    cannot answer now): never accepted unchecked."""
    if not media_url:
        # A deployment without media takes no avatars at all (not a passing outage: no 503).
        raise Problem(
            403,
            "avatars-not-accepted",
            "This deployment takes no avatars",
            "the users service does not know where media is (MEDIA_URL)",
        )
    try:
        response = httpx.get(
            f"{media_url.rstrip('/')}/internal/v1/media/{media_id}/owner",
            headers=internal_headers(token),
            timeout=5.0,
        )
    except httpx.HTTPError as error:
        raise unavailable(f"media did not answer: {type(error).__name__}") from None
    if response.status_code == 404:
        raise NOT_YOURS
    if response.status_code != 200:
        raise unavailable(f"media answered {response.status_code}")
    if response.json().get("owner_id") != str(owner):
        raise NOT_YOURS
