"""Admin operations, their queries and the audit log (routes in api/routes/admin.py).

Each operation takes the request's session and commits it itself, the audit row in the same
transaction as the change (services/README.md, "Transactions")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.problems import Problem
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auth_service import crud, lifecycle
from auth_service.models import AdminAction, DeletedUser, RefreshToken, User

STATUSES = ("active", "suspended", "unverified", "admin")


def audit(
    session: Session,
    admin_id: uuid.UUID | None,
    action: str,
    target_user_id: uuid.UUID | None,
    **detail: Any,
) -> None:
    """One row per admin action, in the same transaction as the action itself."""
    session.add(
        AdminAction(admin_id=admin_id, action=action, target_user_id=target_user_id, detail=detail)
    )


def search_users(
    session: Session, *, q: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[User], str | None]:
    """Username or email prefix (case-insensitive), ordered by username; keyset paging on
    lower(username), which the unique index serves."""
    key = func.lower(User.username)
    query = select(User).order_by(key).limit(limit + 1)
    if q:
        prefix = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(key.like(f"{prefix}%"), User.email.like(f"{prefix}%")))
    if status == "active":
        query = query.where(User.suspended_at.is_(None))
    elif status == "suspended":
        query = query.where(User.suspended_at.is_not(None))
    elif status == "unverified":
        query = query.where(User.email_verified_at.is_(None))
    elif status == "admin":
        query = query.where(User.role == "admin")
    if cursor:
        query = query.where(key > cursor.lower())
    users = list(session.scalars(query).all())
    more = len(users) > limit
    users = users[:limit]
    return users, (users[-1].username.lower() if more and users else None)


def statistics(session: Session) -> dict[str, Any]:
    now = datetime.now(UTC)

    def count(*where: Any, model: Any = User) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {
        "users": count(),
        "verified": count(User.email_verified_at.is_not(None)),
        "suspended": count(User.suspended_at.is_not(None)),
        "admins": count(User.role == "admin"),
        "registered_last_24h": count(User.created_at > now - timedelta(days=1)),
        "registered_last_7d": count(User.created_at > now - timedelta(days=7)),
        "active_sessions": int(
            session.scalar(
                select(func.count(func.distinct(RefreshToken.family_id))).where(
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.rotated_at.is_(None),
                    RefreshToken.expires_at > now,
                )
            )
            or 0
        ),
        "deleted_accounts": count(model=DeletedUser),
        "erasures_incomplete": count(DeletedUser.completed_at.is_(None), model=DeletedUser),
        "generated_at": now,
    }


def audit_log(
    session: Session,
    *,
    limit: int,
    before: int | None,
    admin_id: uuid.UUID | None,
    target_user_id: uuid.UUID | None,
) -> list[AdminAction]:
    """Newest first; `before` is the id of the last entry of the previous page."""
    query = select(AdminAction).order_by(AdminAction.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AdminAction.id < before)
    if admin_id is not None:
        query = query.where(AdminAction.admin_id == admin_id)
    if target_user_id is not None:
        query = query.where(AdminAction.target_user_id == target_user_id)
    return list(session.scalars(query).all())


def set_role(session: Session, username: str, role: str) -> User | None:
    """The `make-admin` CLI: grant (or take back) the admin role; audited with no admin id."""
    user = session.scalars(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).first()
    if user is None:
        return None
    if user.role != role:
        user.role = role
        audit(
            session, None, "grant-admin" if role == "admin" else "revoke-admin", user.id, via="cli"
        )
    session.commit()
    return user


def target(session: Session, user_id: uuid.UUID, me: User, *, not_self: bool = False) -> User:
    user = crud.get_user(session, str(user_id))
    if user is None:
        raise Problem(404, "user-not-found", "No such user")
    if not_self and user.id == me.id:
        raise Problem(409, "self-action", "Admins cannot do this to their own account")
    return user


def list_users(
    session: Session, me: User, *, q: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[User], str | None]:
    users, next_cursor = search_users(session, q=q, status=status, limit=limit, cursor=cursor)
    # Reading accounts (emails) is an admin action too.
    audit(session, me.id, "search-users", None, q=q, status=status, cursor=cursor)
    session.commit()
    return users, next_cursor


def view_user(session: Session, me: User, user_id: uuid.UUID) -> User:
    user = target(session, user_id, me)
    audit(session, me.id, "view-user", user.id)
    session.commit()
    return user


def suspend(session: Session, me: User, user_id: uuid.UUID) -> User:
    """Idempotent: an account already suspended is left as it is, and nothing is audited."""
    user = target(session, user_id, me, not_self=True)
    if user.suspended_at is None:
        lifecycle.suspend(session, user)
        audit(session, me.id, "suspend", user.id)
        session.commit()
    return user


def unsuspend(session: Session, me: User, user_id: uuid.UUID) -> User:
    user = target(session, user_id, me)
    if user.suspended_at is not None:
        lifecycle.unsuspend(session, user)
        audit(session, me.id, "unsuspend", user.id)
        session.commit()
    return user


def force_logout(session: Session, me: User, user_id: uuid.UUID) -> User:
    user = target(session, user_id, me)
    lifecycle.force_logout(session, user)
    audit(session, me.id, "force-logout", user.id)
    session.commit()
    return user


def delete_user(
    session: Session, me: User, user_id: uuid.UUID, *, first_retry: timedelta
) -> DeletedUser:
    """The same erasure as the user's own `DELETE /auth/me`, audited."""
    user = target(session, user_id, me, not_self=True)
    record = lifecycle.delete_account(
        session, user, requested_by=str(me.id), first_retry=first_retry
    )
    audit(session, me.id, "delete", record.user_id, erasure_id=str(record.erasure_id))
    session.commit()
    return record
