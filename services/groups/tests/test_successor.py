"""Who takes over an erased owner's group: the highest role, then who joined first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from groups_service.erasure import successor
from groups_service.models import Member


def member(role: str, days_ago: int) -> Member:
    joined = datetime.now(UTC) - timedelta(days=days_ago)
    return Member(group_id=uuid.uuid4(), user_id=uuid.uuid4(), role=role, joined_at=joined)


def test_the_longest_standing_admin_takes_over_before_older_members() -> None:
    old_member, admin, older_admin = member("member", 30), member("admin", 5), member("admin", 9)
    assert successor([old_member, admin, older_admin]) is older_admin


def test_without_admins_the_longest_standing_member_takes_over() -> None:
    newer, older = member("member", 1), member("member", 2)
    assert successor([newer, older]) is older
