"""What groups holds of one user, for their own export: the groups they are in (with their
role), every message they sent (ciphertext as stored, with their own wrapped key), and the
group invitations they sent or received."""

from __future__ import annotations

import uuid
from typing import Any

from messaging_kit.export import export_document, row_data
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from groups_service import SERVICE
from groups_service.models import Group, GroupInvitation, GroupMessage, Member


def user_export(session: Session, user: uuid.UUID) -> dict[str, Any]:
    memberships = session.execute(
        select(Group, Member)
        .join(Member, Member.group_id == Group.id)
        .where(Member.user_id == user)
    )
    sent = session.scalars(
        select(GroupMessage).where(GroupMessage.sender_id == user).order_by(GroupMessage.seq)
    )
    invitations = session.scalars(
        select(GroupInvitation)
        .where(or_(GroupInvitation.inviter_id == user, GroupInvitation.invitee_id == user))
        .order_by(GroupInvitation.created_at)
    )
    messages = []
    for message in sent:
        data = row_data(message, without=("keys", "content_hash"))
        data["wrapped_key"] = (message.keys or {}).get(str(user))
        messages.append(data)
    return export_document(
        SERVICE,
        user,
        groups=[
            {**row_data(group), "role": member.role, "joined_at": member.joined_at}
            for group, member in memberships
        ],
        messages_sent=messages,
        invitations=[row_data(i) for i in invitations],
    )
