"""Attachment rows: create (with the media.uploaded event), read with access checks, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from messaging_kit.blocks import BlockList
from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import refuse_erased
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from media_service import SERVICE, memberships
from media_service.core.sniffing import IMAGE_TYPES
from media_service.core.upload import ReceivedFile
from media_service.models import EVENTS, Attachment, Participant, ThumbnailStatus


def create_attachment(
    session: Session,
    received: ReceivedFile,
    owner: uuid.UUID,
    *,
    conversation_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
    participant_ids: Iterable[uuid.UUID],
    blocks: BlockList | None = None,
) -> Attachment:
    participants = set(participant_ids)
    refuse_blocked(blocks, owner, participants)
    # An erased user's in-flight upload, or a file shared with them, is not recorded (the
    # upload then removes the blob, media_service.uploads); a concurrent erasure waits until
    # this commits.
    refuse_erased(session, EVENTS, [owner, *participants], "attachment")
    attachment = Attachment(
        id=received.media_id,
        owner_id=owner,
        filename=received.filename,
        content_type=received.content_type,
        size_bytes=received.size_bytes,
        sha256=received.sha256,
        conversation_id=conversation_id,
        group_id=group_id,
        width=received.width,
        height=received.height,
        thumbnail_status=(
            ThumbnailStatus.PENDING
            if received.content_type in IMAGE_TYPES
            else ThumbnailStatus.NONE
        ),
    )
    session.add(attachment)
    session.flush()
    _replace_participants(session, attachment, participants)
    # The thumbnail worker (and anyone else) learns of the upload only once the row commits.
    add_event(
        session,
        EVENTS,
        "media.uploaded",
        SERVICE,
        {
            "media_id": str(attachment.id),
            "owner_id": str(owner),
            "content_type": attachment.content_type,
            "size_bytes": attachment.size_bytes,
            "conversation_id": str(conversation_id) if conversation_id else None,
            "group_id": str(group_id) if group_id else None,
        },
    )
    session.commit()
    return attachment


def _replace_participants(
    session: Session, attachment: Attachment, participant_ids: Iterable[uuid.UUID]
) -> None:
    session.execute(delete(Participant).where(Participant.media_id == attachment.id))
    for user_id in set(participant_ids) - {attachment.owner_id}:
        session.add(Participant(media_id=attachment.id, user_id=user_id))
    session.flush()


def participant_ids(session: Session, media_id: uuid.UUID) -> list[uuid.UUID]:
    return sorted(
        session.scalars(select(Participant.user_id).where(Participant.media_id == media_id))
    )


def not_found(media_id: uuid.UUID) -> Problem:
    return Problem(404, "media-not-found", "No such attachment", f"no attachment {media_id}")


def may_read(session: Session, attachment: Attachment, viewer: uuid.UUID) -> bool:
    """The owner; else, where media knows the members of the attachment's conversation or
    group (from messages' and groups' events), its current members; else the participants
    the uploader named."""
    if attachment.owner_id == viewer:
        return True
    context = attachment.group_id or attachment.conversation_id
    members = memberships.members_of(session, context) if context else None
    if members is not None:
        return viewer in members
    return session.get(Participant, (attachment.id, viewer)) is not None


def check_uploader(session: Session, viewer: uuid.UUID, context: uuid.UUID | None) -> None:
    """One can attach files only to a conversation or group one is in (when media knows)."""
    members = memberships.members_of(session, context) if context else None
    if members is not None and viewer not in members:
        raise Problem(
            403, "not-a-member", "You are not in that conversation or group", str(context)
        )


def readable_attachment(session: Session, media_id: uuid.UUID, viewer: uuid.UUID) -> Attachment:
    """The attachment if viewer may read it; otherwise 404, so strangers cannot even learn
    that an id exists."""
    attachment = session.get(Attachment, media_id)
    if attachment is None or not may_read(session, attachment, viewer):
        raise not_found(media_id)
    return attachment


def owned_attachment(session: Session, media_id: uuid.UUID, viewer: uuid.UUID) -> Attachment:
    attachment = readable_attachment(session, media_id, viewer)
    if attachment.owner_id != viewer:
        raise Problem(403, "not-owner", "Only the uploader may change or delete an attachment")
    return attachment


def refuse_blocked(
    blocks: BlockList | None, owner: uuid.UUID, participants: Iterable[uuid.UUID]
) -> None:
    """A file is not shared with someone who blocked the uploader, or whom they blocked."""
    if blocks is not None and blocks.blocked_with(owner, participants):
        raise Problem(403, "blocked", "This user does not accept contact from you")


def set_participants(
    session: Session,
    attachment: Attachment,
    participant_ids: Iterable[uuid.UUID],
    blocks: BlockList | None = None,
) -> None:
    participants = set(participant_ids)
    refuse_blocked(blocks, attachment.owner_id, participants)
    # Before the participant rows are locked: the erasure deletes them under its user lock.
    refuse_erased(session, EVENTS, [attachment.owner_id, *participants], "participants")
    _replace_participants(session, attachment, participants)
    session.commit()


def owner_of(session: Session, media_id: uuid.UUID) -> uuid.UUID:
    attachment = session.get(Attachment, media_id)
    if attachment is None:
        raise Problem(404, "media-not-found", "No such media")
    return attachment.owner_id


def delete_attachment(session: Session, attachment: Attachment) -> None:
    """Delete the row (its blobs go right after, by the caller; cleanup catches a miss)."""
    session.delete(attachment)
    add_event(
        session,
        EVENTS,
        "media.deleted",
        SERVICE,
        {"media_id": str(attachment.id), "owner_id": str(attachment.owner_id)},
    )
    session.commit()
