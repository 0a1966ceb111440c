"""The placeholder an account holds instead of an address that already had an account when
it registered (auth_service.registration): never deliverable, so nothing is mailed to it."""

from __future__ import annotations

import uuid
from typing import Any

UNCLAIMED_DOMAIN = "unclaimed.invalid"  # RFC 2606: .invalid never resolves


def placeholder(user_id: uuid.UUID) -> str:
    return f"unclaimed+{user_id}@{UNCLAIMED_DOMAIN}"


def holds_address(user: Any) -> bool:
    """False for an account registered with someone else's address."""
    return not str(user.email).endswith(f"@{UNCLAIMED_DOMAIN}")
