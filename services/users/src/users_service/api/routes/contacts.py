"""/api/v1/contacts: add, remove, list, block, unblock."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from users_service import crud
from users_service.api.deps import SessionDep, ViewerId
from users_service.schemas import ContactRequest, ProfileOut

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


@router.get("")
def list_contacts(viewer: ViewerId, session: SessionDep) -> list[ProfileOut]:
    hits = crud.list_contacts(session, viewer, crud.ACCEPTED)
    return [ProfileOut.of(hit.profile, hit.show_email) for hit in hits]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_contact(
    body: ContactRequest, viewer: ViewerId, session: SessionDep, response: Response
) -> ProfileOut:
    profile = crud.add_contact(session, viewer, body.user_id)
    response.headers["Location"] = f"/api/v1/users/{profile.user_id}"
    return ProfileOut.of(profile, crud.shares_email_with(session, profile.user_id, viewer))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_contact(user_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    crud.remove_contact(session, viewer, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/blocked")
def list_blocked(viewer: ViewerId, session: SessionDep) -> list[ProfileOut]:
    hits = crud.list_contacts(session, viewer, crud.BLOCKED)
    return [ProfileOut.of(hit.profile, show_email=False) for hit in hits]


@router.put("/{user_id}/block", status_code=status.HTTP_204_NO_CONTENT)
def block(user_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    crud.block(session, viewer, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{user_id}/block", status_code=status.HTTP_204_NO_CONTENT)
def unblock(user_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    crud.unblock(session, viewer, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
