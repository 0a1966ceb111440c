"""Groups, membership rules and group messages. Every change to a group runs with the group
row locked, so a post and a removal never interleave: a removed member is not in the
recipients of any message committed after the removal, and seq order is commit order.

No change stores the id of an erased user again (messaging_kit.tombstones): each checks the
users it names, the acting one too, before it locks the group, since the erasure holds its
lock on the user while it waits for the group's row lock."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from messaging_kit.blocks import BlockList
from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import refuse_erased
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from groups_service import SERVICE
from groups_service.models import ADMIN, EVENTS, MEMBER, OWNER, Group, GroupMessage, Member
from groups_service.schemas import CreateGroup, PostMessage

RANK = {MEMBER: 0, ADMIN: 1, OWNER: 2}


def not_found() -> Problem:
    return Problem(404, "not-found", "No such group", "or you are not a member")


def member_ids(session: Session, group_id: uuid.UUID) -> list[str]:
    ids = session.scalars(select(Member.user_id).where(Member.group_id == group_id))
    return sorted(str(i) for i in ids)


def locked_group(session: Session, group_id: uuid.UUID) -> Group:
    group = session.scalars(select(Group).where(Group.id == group_id).with_for_update()).first()
    if group is None:
        raise not_found()
    return group


def membership(session: Session, group_id: uuid.UUID, user: uuid.UUID) -> Member:
    member = session.get(Member, (group_id, user))
    if member is None:
        raise not_found()
    return member


def require_role(member: Member, least: str, action: str) -> None:
    if RANK[member.role] < RANK[least]:
        raise Problem(403, "forbidden-role", f"Only an {least} or above can {action}")


def event(session: Session, kind: str, data: dict[str, Any], recipients: list[str]) -> None:
    add_event(session, EVENTS, kind, SERVICE, {**data, "recipient_ids": recipients})


BLOCKED = Problem(
    403, "blocked", "This user does not accept contact from you", "a block holds in groups too"
)


def refuse_blocked(blocks: BlockList | None, actor: uuid.UUID, users: Iterable[uuid.UUID]) -> None:
    """Nobody puts into a group someone they blocked or who blocked them (messaging_kit.blocks)."""
    if blocks is not None and blocks.blocked_with(actor, users):
        raise BLOCKED


def create_group(
    session: Session,
    owner: uuid.UUID,
    body: CreateGroup,
    max_members: int,
    blocks: BlockList | None = None,
    invited: Iterable[uuid.UUID] = (),
) -> Group:
    """`invited`: those named who had not accepted the owner as a contact; they get an
    invitation (groups_service.invitations) instead of a membership."""
    named = {m for m in body.member_ids if m != owner}
    invitees = named & set(invited)
    others = named - invitees
    if len(named) + 1 > max_members:
        raise Problem(422, "too-many-members", f"A group holds at most {max_members} members")
    refuse_blocked(blocks, owner, named)
    refuse_erased(session, EVENTS, [owner, *named], "group")
    group = Group(id=uuid.uuid4(), name=body.name, created_by=owner)
    session.add(group)
    session.flush()
    session.add(Member(group_id=group.id, user_id=owner, role=OWNER))
    session.add_all(Member(group_id=group.id, user_id=m, role=MEMBER) for m in others)
    session.flush()
    members = member_ids(session, group.id)
    event(
        session,
        "group.created",
        {
            "group_id": str(group.id),
            "name": group.name,
            "created_by": str(owner),
            "member_ids": members,
        },
        members,
    )
    from groups_service.invitations import add_invitation  # it imports this module

    for invitee in sorted(invitees):
        add_invitation(session, group, owner, invitee, MEMBER)
    session.commit()
    return group


def get_group(
    session: Session, viewer: uuid.UUID, group_id: uuid.UUID
) -> tuple[Group, list[Member]]:
    membership(session, group_id, viewer)
    group = session.get(Group, group_id)
    assert group is not None
    members = list(
        session.scalars(
            select(Member).where(Member.group_id == group_id).order_by(Member.joined_at)
        )
    )
    return group, members


def my_groups(session: Session, viewer: uuid.UUID) -> list[tuple[Group, str]]:
    rows = session.execute(
        select(Group, Member.role)
        .join(Member, Member.group_id == Group.id)
        .where(Member.user_id == viewer)
        .order_by(Group.created_at.desc())
        .limit(500)
    )
    return [(group, role) for group, role in rows]


def rename(session: Session, viewer: uuid.UUID, group_id: uuid.UUID, name: str) -> Group:
    group = locked_group(session, group_id)
    require_role(membership(session, group_id, viewer), ADMIN, "rename the group")
    group.name = name
    event(
        session,
        "group.renamed",
        {"group_id": str(group_id), "name": name, "renamed_by": str(viewer)},
        member_ids(session, group_id),
    )
    session.commit()
    return group


def check_add(
    session: Session,
    viewer: uuid.UUID,
    group_id: uuid.UUID,
    user: uuid.UUID,
    role: str,
    blocks: BlockList | None = None,
) -> None:
    """May `viewer` add (or invite) `user` as `role`: locks the group for the caller."""
    refuse_blocked(blocks, viewer, [user])
    refuse_erased(session, EVENTS, [viewer, user], "member")
    locked_group(session, group_id)
    actor = membership(session, group_id, viewer)
    require_role(actor, ADMIN, "add members")
    if role == ADMIN:
        require_role(actor, OWNER, "add admins")
    if session.get(Member, (group_id, user)) is not None:
        raise Problem(409, "already-member", "Already a member")


def join(
    session: Session,
    group_id: uuid.UUID,
    user: uuid.UUID,
    role: str,
    added_by: uuid.UUID,
    max_members: int,
) -> Member:
    """Insert the member (group locked by the caller) and tell the members; no commit."""
    count = session.scalar(select(func.count()).where(Member.group_id == group_id)) or 0
    if count >= max_members:
        raise Problem(409, "group-full", f"A group holds at most {max_members} members")
    member = Member(group_id=group_id, user_id=user, role=role)
    session.add(member)
    session.flush()
    members = member_ids(session, group_id)
    event(
        session,
        "group.member.added",
        {
            "group_id": str(group_id),
            "user_id": str(user),
            "role": role,
            "added_by": str(added_by),
            "member_ids": members,
        },
        members,
    )
    return member


def add_member(
    session: Session,
    viewer: uuid.UUID,
    group_id: uuid.UUID,
    user: uuid.UUID,
    role: str,
    max_members: int,
    blocks: BlockList | None = None,
) -> Member:
    check_add(session, viewer, group_id, user, role, blocks)
    member = join(session, group_id, user, role, viewer, max_members)
    session.commit()
    return member


def change_role(
    session: Session, viewer: uuid.UUID, group_id: uuid.UUID, user: uuid.UUID, role: str
) -> Member:
    refuse_erased(session, EVENTS, [viewer, user], "role")
    locked_group(session, group_id)
    actor = membership(session, group_id, viewer)
    require_role(actor, OWNER, "change roles")
    target = membership(session, group_id, user)
    if user == viewer:
        raise Problem(409, "owner-role", "Hand ownership to another member instead")
    target.role = role
    if role == OWNER:
        actor.role = ADMIN
    event(
        session,
        "group.member.role_changed",
        {"group_id": str(group_id), "user_id": str(user), "role": role, "changed_by": str(viewer)},
        member_ids(session, group_id),
    )
    session.commit()
    return target


def remove_member(
    session: Session, viewer: uuid.UUID, group_id: uuid.UUID, user: uuid.UUID
) -> None:
    """Leave (yourself) or remove someone of a lower role. The owner leaves only last."""
    locked_group(session, group_id)
    actor = membership(session, group_id, viewer)
    target = membership(session, group_id, user)
    members = member_ids(session, group_id)
    if user == viewer:
        if actor.role == OWNER and len(members) > 1:
            raise Problem(
                409, "owner-must-hand-over", "Hand ownership to another member before leaving"
            )
        reason = "left"
    else:
        require_role(actor, ADMIN, "remove members")
        if RANK[target.role] >= RANK[actor.role]:
            raise Problem(403, "forbidden-role", "You can only remove members below your role")
        reason = "removed"
    session.delete(target)
    session.flush()
    event(
        session,
        "group.member.removed",
        {
            "group_id": str(group_id),
            "user_id": str(user),
            "removed_by": str(viewer),
            "reason": reason,
            "member_ids": member_ids(session, group_id),
        },
        # The removed user hears of it too, and nothing after it.
        sorted(set(members)),
    )
    session.commit()


def decode(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Problem(
            422, "validation-error", "Invalid base64", f"{field} is not valid base64"
        ) from None


def post(
    session: Session,
    sender: uuid.UUID,
    group_id: uuid.UUID,
    body: PostMessage,
    max_ciphertext_bytes: int,
    blocks: BlockList | None = None,
) -> tuple[GroupMessage, bool]:
    ciphertext, nonce = decode(body.ciphertext, "ciphertext"), decode(body.nonce, "nonce")
    if len(ciphertext) > max_ciphertext_bytes:
        raise Problem(
            413,
            "message-too-large",
            "Message too large",
            f"ciphertext is {len(ciphertext)} bytes; the limit is {max_ciphertext_bytes}",
            limit=max_ciphertext_bytes,
        )
    keys = {str(k): v for k, v in body.keys.items()}
    digest = hashlib.sha256(
        json.dumps([body.ciphertext, body.nonce, sorted(keys.items())]).encode()
    ).hexdigest()
    refuse_erased(session, EVENTS, [sender, *keys], "group message")
    locked_group(session, group_id)
    membership(session, group_id, sender)
    members = member_ids(session, group_id)
    if not set(keys) <= set(members):
        raise Problem(422, "bad-keys", "Wrapped keys must be for members of the group")
    message = session.scalars(
        insert(GroupMessage)
        .values(
            id=uuid.uuid4(),
            group_id=group_id,
            sender_id=sender,
            idempotency_key=body.idempotency_key,
            content_hash=digest,
            ciphertext=ciphertext,
            nonce=nonce,
            keys=keys,
        )
        .on_conflict_do_nothing(
            index_elements=[
                GroupMessage.group_id,
                GroupMessage.sender_id,
                GroupMessage.idempotency_key,
            ]
        )
        .returning(GroupMessage)
    ).first()
    if message is None:
        session.rollback()
        existing = session.scalars(
            select(GroupMessage).where(
                GroupMessage.group_id == group_id,
                GroupMessage.sender_id == sender,
                GroupMessage.idempotency_key == body.idempotency_key,
            )
        ).one()
        if existing.content_hash != digest:
            raise Problem(
                409, "idempotency-key-reused", "Idempotency key already used for another message"
            )
        return existing, False
    event(
        session,
        "group.message.created",
        {
            "message_id": str(message.id),
            "group_id": str(group_id),
            "seq": message.seq,
            "sender_id": str(sender),
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "keys": keys,
            "created_at": message.created_at.isoformat(),
        },
        # A member who blocked the sender (or whom the sender blocked) is not reached: no
        # delivery, no push, no mention (mentions live inside the ciphertext).
        [m for m in members if blocks is None or not blocks.between(sender, m)],
    )
    session.commit()
    return message, True


def history(
    session: Session,
    viewer: uuid.UUID,
    group_id: uuid.UUID,
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> list[GroupMessage]:
    membership(session, group_id, viewer)
    query = select(GroupMessage).where(GroupMessage.group_id == group_id)
    if after is not None:
        query = query.where(GroupMessage.seq > after).order_by(GroupMessage.seq)
    else:
        if before is not None:
            query = query.where(GroupMessage.seq < before)
        query = query.order_by(GroupMessage.seq.desc())
    return list(session.scalars(query.limit(limit)))
