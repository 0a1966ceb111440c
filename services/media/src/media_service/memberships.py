"""Who is in which conversation and group, learnt from the services that own them.

messages' `message.created` names a direct conversation's two ends (`recipient_ids`); groups'
`group.created`, `group.member.added` and `group.member.removed` carry the members at commit
time (`recipient_ids`, or `member_ids` after the change). Each event replaces the snapshot
unless an event with a later `occurred_at` already did (redeliveries can come out of order).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from messaging_kit.events import Event
from messaging_kit.tombstones import erased_among
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from media_service.models import EVENTS, Context, ContextMember

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
CONVERSATION, GROUP = "conversation", "group"


def occurred(event: Event) -> datetime:
    try:
        moment = datetime.fromisoformat(event.occurred_at)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def save_members(
    session: Session, context_id: uuid.UUID, kind: str, members: list[str], as_of: datetime
) -> None:
    """Replace the context's members with this snapshot, unless a newer one is in. An erased
    user is left out: a late or redelivered event still names them."""
    users = {uuid.UUID(str(member)) for member in members}
    # Before the member rows are locked below: the erasure deletes them under its user lock.
    erased = erased_among(session, EVENTS, users)
    if erased:
        log.info(
            "erased users left out of a member snapshot",
            extra={"context_id": str(context_id), "erased": len(erased)},
        )
    statement = insert(Context).values(id=context_id, kind=kind, as_of=as_of)
    newer = session.execute(
        statement.on_conflict_do_update(
            index_elements=[Context.id],
            set_={"as_of": as_of, "kind": kind},
            where=Context.as_of <= as_of,
        ).returning(Context.id)
    ).first()
    if newer is None:
        return
    session.execute(delete(ContextMember).where(ContextMember.context_id == context_id))
    for user in sorted(users - erased):
        session.add(ContextMember(context_id=context_id, user_id=user))
    session.flush()


def members_of(session: Session, context_id: uuid.UUID) -> set[uuid.UUID] | None:
    """The members media knows of, or None when it has not heard of the context."""
    if session.get(Context, context_id) is None:
        return None
    return set(
        session.scalars(select(ContextMember.user_id).where(ContextMember.context_id == context_id))
    )


def membership_handlers() -> dict[str, Handler]:
    def conversation(session: Session, event: Event) -> None:
        conversation_id, members = (
            event.data.get("conversation_id"),
            event.data.get("recipient_ids"),
        )
        if not conversation_id or not isinstance(members, list):
            return
        # A direct conversation's two ends never change: only its first message tells news.
        if session.get(Context, uuid.UUID(str(conversation_id))) is None:
            save_members(
                session, uuid.UUID(str(conversation_id)), CONVERSATION, members, occurred(event)
            )

    def group(session: Session, event: Event) -> None:
        members = event.data.get("member_ids", event.data.get("recipient_ids"))
        if event.type == "group.member.removed" and "member_ids" not in event.data:
            return  # recipient_ids there still names the removed user
        if isinstance(members, list):
            group_id = uuid.UUID(str(event.data["group_id"]))
            save_members(session, group_id, GROUP, members, occurred(event))

    return {
        "message.created": conversation,
        "group.created": group,
        "group.member.added": group,
        "group.member.removed": group,
    }
