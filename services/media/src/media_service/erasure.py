"""Erasing a user from media: the attachments they uploaded (rows, originals and thumbnails in
the object store), their access to others' attachments, their place in conversation and
group member lists.

Blobs are removed before the rows, inside the erasure's transaction: if the store fails, the
transaction rolls back and the consumer retries, so `user.erased` is never confirmed while a
blob of the user is left (removing a missing key is not an error, so a retry is harmless).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from messaging_kit.erasure import ErasureRequest, erasure_handler, rows_affected
from messaging_kit.events import Event
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from media_service import SERVICE
from media_service.core.storage import ObjectStore, original_key, thumbnail_key
from media_service.models import EVENTS, Attachment, ContextMember, Participant


@dataclass(frozen=True)
class Erased:
    attachments: int
    blobs_removed: int
    shared_with: int


def erase_user(session: Session, store: ObjectStore, request: ErasureRequest) -> Erased:
    user = request.user_id
    owned = list(
        session.scalars(select(Attachment.id).where(Attachment.owner_id == user).with_for_update())
    )
    blobs = 0
    for media_id in owned:
        for key in (original_key(media_id), thumbnail_key(media_id)):
            store.remove(key)
            blobs += 1
    # Participants of their attachments go by ON DELETE CASCADE.
    attachments = session.execute(delete(Attachment).where(Attachment.owner_id == user))
    shared = session.execute(delete(Participant).where(Participant.user_id == user))
    session.execute(delete(ContextMember).where(ContextMember.user_id == user))
    return Erased(
        attachments=rows_affected(attachments),
        blobs_removed=blobs,
        shared_with=rows_affected(shared),
    )


def erasure_handler_for(store: ObjectStore) -> Callable[[Session, Event], None]:
    def erase(session: Session, request: ErasureRequest) -> Erased:
        return erase_user(session, store, request)

    return erasure_handler(SERVICE, EVENTS, erase)
