"""/api/v1/relay: what waited for you while you were offline; acknowledge to remove it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from messaging_kit.export import export_document
from pydantic import BaseModel, Field

from relay_service import SERVICE
from relay_service.api.deps import UserId
from relay_service.queue import OfflineQueues

router = APIRouter(prefix="/api/v1/relay", tags=["relay"])


class PendingEntry(BaseModel):
    message_id: str
    queued_at: float = Field(description="unix seconds")
    event: dict[str, Any] = Field(description="the event, with only your wrapped key")


class PendingPage(BaseModel):
    items: list[PendingEntry]
    total: int


class AckRequest(BaseModel):
    message_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class AckResult(BaseModel):
    removed: int


class Status(BaseModel):
    online: bool
    pending: int


def queues(request: Request) -> OfflineQueues:
    found: OfflineQueues = request.app.state.queues
    return found


@router.get("/pending")
def pending(
    request: Request, user: UserId, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> PendingPage:
    """Oldest first. Stays until acknowledged or expired."""
    q = queues(request)
    items = [PendingEntry(**item) for item in q.pending(user, limit)]
    return PendingPage(items=items, total=q.count(user))


@router.delete("/pending/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
def acknowledge_one(message_id: uuid.UUID, request: Request, user: UserId) -> Response:
    """Idempotent: acknowledging twice is fine."""
    queues(request).acknowledge(user, [str(message_id)])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/ack")
def acknowledge(body: AckRequest, request: Request, user: UserId) -> AckResult:
    removed = queues(request).acknowledge(user, [str(i) for i in body.message_ids])
    return AckResult(removed=removed)


@router.get("/export")
def export(request: Request, user: UserId) -> dict[str, Any]:
    """Your own data held by relay, as JSON: every entry waiting for you."""
    q = queues(request)
    return export_document(SERVICE, user, pending=q.pending(user, max(q.count(user), 1)))


@router.get("/status")
def relay_status(request: Request, user: UserId) -> Status:
    """Whether you are online (per websocket presence) and how much is waiting."""
    q = queues(request)
    return Status(online=q.is_online(user), pending=q.count(user))
