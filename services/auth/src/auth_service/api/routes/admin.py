"""/api/v1/admin: admin role only (role claim and the account's role). Every action that
changes something is audit-logged in its own transaction (auth_service.admin)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from auth_service import admin, erasure
from auth_service.api.deps import CurrentAdmin, SessionDep, get_admin
from auth_service.core.config import Settings
from auth_service.models import DeletedUser, User
from auth_service.schemas import (
    AdminErasureOut,
    AdminUserOut,
    AuditEntry,
    AuditPage,
    Statistics,
    UserPage,
)

# The dependency on the router too: no admin route can forget it.
router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(get_admin)])
Cursor = Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_.]*$")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _user_out(user: User) -> AdminUserOut:
    out = AdminUserOut.model_validate(user)
    return out.model_copy(update={"email_verified": user.email_verified_at is not None})


@router.get("/users")
def list_users(
    session: SessionDep,
    me: CurrentAdmin,
    q: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(admin.STATUSES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> UserPage:
    """Search by username or email prefix, filter by status; `next_cursor` pages on."""
    users, next_cursor = admin.list_users(
        session, me, q=q, status=status, limit=limit, cursor=cursor
    )
    return UserPage(users=[_user_out(user) for user in users], next_cursor=next_cursor)


@router.get("/users/{user_id}")
def get_user(user_id: uuid.UUID, session: SessionDep, me: CurrentAdmin) -> AdminUserOut:
    return _user_out(admin.view_user(session, me, user_id))


@router.post("/users/{user_id}/suspend")
def suspend(user_id: uuid.UUID, session: SessionDep, me: CurrentAdmin) -> AdminUserOut:
    """Suspend: no login, no refresh, and every existing access token refused by every
    service within a second."""
    return _user_out(admin.suspend(session, me, user_id))


@router.post("/users/{user_id}/unsuspend")
def unsuspend(user_id: uuid.UUID, session: SessionDep, me: CurrentAdmin) -> AdminUserOut:
    return _user_out(admin.unsuspend(session, me, user_id))


@router.post("/users/{user_id}/logout")
def force_logout(user_id: uuid.UUID, session: SessionDep, me: CurrentAdmin) -> AdminUserOut:
    """Every session of the user ends: refresh tokens revoked, access tokens refused."""
    return _user_out(admin.force_logout(session, me, user_id))


@router.delete("/users/{user_id}", status_code=202)
def delete_user(
    user_id: uuid.UUID, request: Request, session: SessionDep, me: CurrentAdmin
) -> AdminErasureOut:
    """Delete on the user's behalf: the same erasure as their own `DELETE /auth/me`."""
    settings = _settings(request)
    first_retry = timedelta(seconds=settings.erasure_retry_delay_seconds)
    record = admin.delete_user(session, me, user_id, first_retry=first_retry)
    return _erasure_out(record, {}, settings)


def _erasure_out(
    record: DeletedUser, confirmed: dict[str, datetime], settings: Settings
) -> AdminErasureOut:
    body = erasure.status(record, confirmed, settings.erasure_service_names)
    return AdminErasureOut.model_validate(
        {**body, "user_id": record.user_id, "requested_by": record.requested_by}
    )


@router.get("/erasures")
def list_erasures(
    request: Request,
    session: SessionDep,
    incomplete: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AdminErasureOut]:
    """Newest first; `incomplete=true` shows those still waiting for a service."""
    settings = _settings(request)
    return [
        _erasure_out(record, confirmed, settings)
        for record, confirmed in erasure.recent(session, incomplete=incomplete, limit=limit)
    ]


@router.get("/erasures/{erasure_id}")
def get_erasure(erasure_id: uuid.UUID, request: Request, session: SessionDep) -> AdminErasureOut:
    record, confirmed = erasure.tracked(session, erasure_id)
    return _erasure_out(record, confirmed, _settings(request))


@router.get("/stats")
def statistics(session: SessionDep) -> Statistics:
    return Statistics.model_validate(admin.statistics(session))


@router.get("/audit")
def audit_log(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
    admin_id: uuid.UUID | None = None,
    target_user_id: uuid.UUID | None = None,
) -> AuditPage:
    """Every admin action, newest first; pass `next_before` as `before` for the next page."""
    entries = admin.audit_log(
        session, limit=limit, before=before, admin_id=admin_id, target_user_id=target_user_id
    )
    return AuditPage(
        entries=[AuditEntry.model_validate(entry) for entry in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )
