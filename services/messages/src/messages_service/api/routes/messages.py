"""/api/v1/messages and /api/v1/conversations: send, read, history, receipts, delete."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from messages_service import crud, sending
from messages_service.api.deps import BodyLimit, ReadSessionDep, SessionDep, ViewerId
from messages_service.models import Message
from messages_service.schemas import (
    ConversationOut,
    ConversationPage,
    Cursor,
    MessageOut,
    MessagePage,
    SendMessage,
)

router = APIRouter(prefix="/api/v1", tags=["messages"])
Limit = Annotated[int, Query(ge=1, le=200)]


def message_out(message: Message, viewer: uuid.UUID) -> MessageOut:
    return MessageOut(
        id=message.id,
        seq=message.seq,
        conversation_id=message.conversation_id,
        sender_id=message.sender_id,
        recipient_id=message.recipient_id,
        ciphertext=crud.encode(message.ciphertext),
        nonce=crud.encode(message.nonce),
        wrapped_key=(message.keys or {}).get(str(viewer)),
        created_at=message.created_at,
        read_at=message.read_at,
        deleted=message.deleted_at is not None,
    )


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    dependencies=[BodyLimit],
    responses={200: {"model": MessageOut, "description": "a retry: the message stored before"}},
)
def send(body: SendMessage, request: Request, viewer: ViewerId, session: SessionDep) -> Response:
    settings = request.app.state.settings
    message, created = sending.send_message(
        session, viewer, body, max_ciphertext_bytes=settings.max_ciphertext_bytes
    )
    out = message_out(message, viewer)
    # A retry answers 200 with the message stored before; both say where it lives.
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/api/v1/messages/{message.id}"},
    )


@router.get("/messages/{message_id}")
def get_message(message_id: uuid.UUID, viewer: ViewerId, session: ReadSessionDep) -> MessageOut:
    return message_out(crud.get_visible(session, viewer, message_id), viewer)


@router.post("/messages/{message_id}/read")
def mark_read(message_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> MessageOut:
    return message_out(crud.mark_read(session, viewer, message_id), viewer)


@router.delete("/messages/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    message_id: uuid.UUID,
    request: Request,
    viewer: ViewerId,
    session: SessionDep,
    scope: Literal["me", "everyone"] = "me",
) -> Response:
    window = timedelta(seconds=request.app.state.settings.delete_window_seconds)
    crud.delete_message(
        session, viewer, message_id, for_everyone=scope == "everyone", window=window
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/conversations")
def list_conversations(
    viewer: ViewerId, session: ReadSessionDep, before: Cursor | None = None, limit: Limit = 50
) -> ConversationPage:
    """Most recently active first. A conversation that gets a message while you page moves
    to the top: the live message event tells the client, the list is not re-sent."""
    entries = crud.conversations(
        session, viewer, before=int(before) if before else None, limit=limit
    )
    items = [
        ConversationOut(
            conversation_id=e.conversation_id,
            peer_id=e.peer_id,
            last_seq=e.last_seq,
            last_message_at=e.last_message_at,
        )
        for e in entries
    ]
    next_cursor = str(entries[-1].last_seq) if len(entries) == limit else None
    return ConversationPage(items=items, next_cursor=next_cursor)


@router.get("/conversations/with/{peer_id}")
def conversation_with(peer_id: uuid.UUID, viewer: ViewerId) -> dict[str, uuid.UUID]:
    """The id of your direct conversation with peer_id (it exists once a message is sent)."""
    return {"conversation_id": crud.conversation_id(viewer, peer_id)}


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def history(
    conversation_id: uuid.UUID,
    viewer: ViewerId,
    session: ReadSessionDep,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: Limit = 50,
) -> Response:
    """Newest first (`before` pages back); with `after`, oldest first from that cursor."""
    rows = crud.history(
        session,
        viewer,
        conversation_id,
        before=int(before) if before else None,
        after=int(after) if after is not None else None,
        limit=limit,
    )
    next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
    items = [
        MessageOut(
            **{
                **row,
                "ciphertext": crud.encode(row["ciphertext"]),
                "nonce": crud.encode(row["nonce"]),
            }
        )
        for row in rows
    ]
    # Built once and sent as it is: no second pass through the response model.
    page = MessagePage(items=items, next_cursor=next_cursor)
    return Response(page.model_dump_json(), media_type="application/json")
