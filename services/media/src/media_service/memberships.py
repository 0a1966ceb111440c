"""Who is in which conversation and group, learnt from the services that own them.

messages' `message.created` names a direct conversation's two ends (`recipient_ids`); groups'
`group.created`, `group.member.added` and `group.member.removed` carry the members at commit
time (`recipient_ids`, or `member_ids` after the change). Each event replaces the snapshot
unless an event with a later `occurred_at` already did (redeliveries can come out of order).

Every message is a `message.created`, but only a conversation's first one tells news: the
others are acked before any transaction (membership_skips), on a conversation media already
has, remembered once seen in the database (context rows are never deleted).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from messaging_kit.db import Database
from messaging_kit.events import Event
from messaging_kit.tombstones import erased_among
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from media_service.models import EVENTS, Context, ContextMember

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
Skip = Callable[[Event], bool]
CONVERSATION, GROUP = "conversation", "group"
# Conversations remembered as known; past this many the memory starts over (a few MB).
KNOWN_CONVERSATIONS = 50_000


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


def membership_skips(db: Database) -> dict[str, Skip]:
    """`message.created` on a conversation media has (its ends never change) is acked without
    a transaction: the handler would change nothing. Known ones are remembered, so only a new
    conversation costs a read here."""
    known: set[uuid.UUID] = set()

    def conversation_known(event: Event) -> bool:
        conversation_id, members = (
            event.data.get("conversation_id"),
            event.data.get("recipient_ids"),
        )
        if not conversation_id or not isinstance(members, list):
            return True  # the handler ignores it too
        context_id = uuid.UUID(str(conversation_id))
        if context_id in known:
            return True
        with db.engine.connect() as connection:
            if connection.scalar(select(Context.id).where(Context.id == context_id)) is None:
                return False
        if len(known) >= KNOWN_CONVERSATIONS:
            known.clear()
        known.add(context_id)
        return True

    return {"message.created": conversation_known}
