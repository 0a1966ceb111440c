"""Profiles, search, contacts and invitations as plain functions over a session."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging_kit.db import Database
from messaging_kit.events import Event, add_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import erased_among, refuse_erased
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from users_service import SERVICE
from users_service.models import EVENTS, Contact, Invitation, Profile

log = logging.getLogger(__name__)

ACCEPTED, BLOCKED = "accepted", "blocked"
PENDING = "pending"


def now() -> datetime:
    return datetime.now(UTC)


# --- profiles ---------------------------------------------------------------------------


def create_profile_from_event(session: Session, event: Event) -> None:
    """user.registered handler; a replay (same user twice) is a no-op, and so is one that
    arrives after the user's erasure (it would bring the profile back)."""
    data = event.data
    user = uuid.UUID(str(data["user_id"]))
    if erased_among(session, EVENTS, [user]):
        log.info("user.registered of an erased user skipped", extra={"event_id": event.id})
        return
    session.execute(
        insert(Profile)
        .values(
            user_id=user,
            username=str(data["username"]),
            display_name=str(data.get("display_name") or data["username"])[:100],
            email=data.get("email"),
        )
        .on_conflict_do_nothing()
    )


def get_profile(session: Session, user_id: uuid.UUID) -> Profile:
    profile = session.get(Profile, user_id)
    if profile is None:
        raise Problem(404, "profile-not-found", "No such profile")
    return profile


# What a profile shows others (the email only to people its owner accepted); its owner also
# sees presence_visibility (GET /me, by primary key).
PROFILE_FIELDS = (
    "user_id",
    "username",
    "display_name",
    "avatar_media_id",
    "status_text",
    "public_key",
    "email",
)
OWN_PROFILE_FIELDS = (*PROFILE_FIELDS, "presence_visibility")
OWN_PROFILE = select(*(Profile.__table__.c[name] for name in OWN_PROFILE_FIELDS)).where(
    Profile.user_id == bindparam("user_id")
)


def own_profile(db: Database, user_id: uuid.UUID) -> dict[str, Any]:
    """One round trip outside a transaction (Database.read_row): the read-only hot path."""
    row = db.read_row(OWN_PROFILE, {"user_id": user_id})
    if row is None:
        raise Problem(404, "profile-not-found", "No such profile")
    return dict(row)


def update_profile(session: Session, profile: Profile, changes: dict[str, Any]) -> Profile:
    for field, value in changes.items():
        setattr(profile, field, value)
    session.commit()
    return profile


def contact_status(session: Session, owner_id: uuid.UUID, contact_id: uuid.UUID) -> str | None:
    contact = session.get(Contact, (owner_id, contact_id))
    return contact.status if contact else None


def is_blocked_by(session: Session, viewer: uuid.UUID, owner: uuid.UUID) -> bool:
    return contact_status(session, owner, viewer) == BLOCKED


def visible_profile(
    session: Session, viewer: uuid.UUID, user_id: uuid.UUID
) -> tuple[Profile, bool]:
    """The profile and whether its email may be shown; someone who blocked you is not found."""
    profile = get_profile(session, user_id)
    if user_id != viewer and is_blocked_by(session, viewer, user_id):
        raise Problem(404, "profile-not-found", "No such profile")
    return profile, shares_email_with(session, profile.user_id, viewer)


def shares_email_with(session: Session, owner: uuid.UUID, viewer: uuid.UUID) -> bool:
    """An email is shown to its owner and to people the owner has accepted as a contact;
    adding someone to your own list (without their consent) shows you nothing."""
    return owner == viewer or contact_status(session, owner, viewer) == ACCEPTED


# --- search -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    profile: Profile
    show_email: bool


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


SEARCH_COLUMNS = tuple(Profile.__table__.c[name] for name in PROFILE_FIELDS)


def search_statement(
    viewer: uuid.UUID, query: str, *, limit: int, after: str | None
) -> Select[Any]:
    """Prefix search on username or display name, ordered by username, keyset-paginated.

    Both predicates match a `COLLATE "C"` index (a BitmapOr for narrow prefixes, an ordered
    walk of the username index for broad ones); people who blocked the viewer
    are left out, and whether each hit has accepted the viewer rides along (for emails).
    """
    pattern = escape_like(query.strip().lower()) + "%"
    accepted_me = aliased(Contact)
    theirs = aliased(Contact)
    username_key = func.lower(Profile.username).collate("C")
    name_key = func.lower(Profile.display_name).collate("C")
    statement = (
        select(*SEARCH_COLUMNS, accepted_me.status.label("their_status"))
        .outerjoin(
            accepted_me,
            and_(accepted_me.owner_id == Profile.user_id, accepted_me.contact_id == viewer),
        )
        .where(
            or_(
                username_key.like(pattern, escape="\\"),
                name_key.like(pattern, escape="\\"),
            ),
            Profile.user_id != viewer,
            ~exists().where(
                theirs.owner_id == Profile.user_id,
                theirs.contact_id == viewer,
                theirs.status == BLOCKED,
            ),
        )
        .order_by(username_key)
        .limit(limit + 1)
    )
    if after:
        statement = statement.where(username_key > after.lower())
    return statement


def search(
    session: Session, viewer: uuid.UUID, query: str, *, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of hits, as the profile fields the viewer may see (rows, not ORM objects), and
    the cursor of the next page (None on the last one)."""
    rows = session.execute(search_statement(viewer, query, limit=limit, after=after)).mappings()
    hits = []
    for row in rows:  # limit + 1 of them: one more says there is a next page
        hit = dict(row)
        if hit.pop("their_status") != ACCEPTED:
            hit["email"] = None
        hits.append(hit)
    next_cursor = hits[limit - 1]["username"].lower() if len(hits) > limit else None
    return hits[:limit], next_cursor


# --- contacts ---------------------------------------------------------------------------


def _set_contact(session: Session, owner: uuid.UUID, contact: uuid.UUID, status: str) -> bool:
    """Upsert owner's entry; True when it became `status` just now."""
    result = session.execute(
        insert(Contact)
        .values(owner_id=owner, contact_id=contact, status=status)
        .on_conflict_do_update(
            index_elements=[Contact.owner_id, Contact.contact_id],
            set_={"status": status},
            where=Contact.status != status,
        )
        .returning(Contact.owner_id)
    )
    return result.first() is not None


def _contact_event(session: Session, event_type: str, owner: uuid.UUID, contact: uuid.UUID) -> None:
    """contact.added / contact.blocked / contact.unblocked: {owner_id, contact_id}."""
    add_event(
        session, EVENTS, event_type, SERVICE, {"owner_id": str(owner), "contact_id": str(contact)}
    )


def _contact_added_event(session: Session, owner: uuid.UUID, contact: uuid.UUID) -> None:
    _contact_event(session, "contact.added", owner, contact)


def _check_pair(session: Session, owner: uuid.UUID, other: uuid.UUID) -> Profile:
    if owner == other:
        raise Problem(422, "self-reference", "That is you", "pick another user")
    # Before the profile read: the contact or invitation written next cannot outlive an
    # erasure of either running now.
    refuse_erased(session, EVENTS, [owner, other], "contact")
    profile = get_profile(session, other)
    if is_blocked_by(session, owner, other):
        raise Problem(403, "blocked", "This user does not accept contact from you")
    if is_blocked_by(session, other, owner):
        # Your own block holds too: lift it first (which tells every service), rather than
        # have a contact or an invitation quietly overwrite it.
        raise Problem(409, "blocked-by-you", "You blocked this user", "unblock them first")
    return profile


def add_contact(session: Session, owner: uuid.UUID, contact: uuid.UUID) -> Profile:
    profile = _check_pair(session, owner, contact)
    if _set_contact(session, owner, contact, ACCEPTED):
        _contact_added_event(session, owner, contact)
    session.commit()
    return profile


def remove_contact(session: Session, owner: uuid.UUID, contact: uuid.UUID) -> None:
    entry = session.get(Contact, (owner, contact))
    if entry is not None and entry.status == ACCEPTED:
        session.delete(entry)
        session.commit()


def block(session: Session, owner: uuid.UUID, other: uuid.UUID) -> None:
    if owner == other:
        raise Problem(422, "self-reference", "That is you", "you cannot block yourself")
    refuse_erased(session, EVENTS, [owner, other], "block")
    get_profile(session, other)
    if _set_contact(session, owner, other, BLOCKED):
        _contact_event(session, "contact.blocked", owner, other)
    # A block also withdraws whatever is pending between the two.
    session.execute(
        update(Invitation)
        .where(
            Invitation.status == PENDING,
            or_(
                and_(Invitation.inviter_id == owner, Invitation.invitee_id == other),
                and_(Invitation.inviter_id == other, Invitation.invitee_id == owner),
            ),
        )
        .values(status="declined", responded_at=now())
    )
    session.commit()


def unblock(session: Session, owner: uuid.UUID, other: uuid.UUID) -> None:
    entry = session.get(Contact, (owner, other))
    if entry is not None and entry.status == BLOCKED:
        session.delete(entry)
        _contact_event(session, "contact.unblocked", owner, other)
        session.commit()


def all_blocks(session: Session) -> list[list[str]]:
    """Every block on the platform, [owner, blocked] (messaging_kit.blocks' snapshot)."""
    rows = session.execute(
        select(Contact.owner_id, Contact.contact_id).where(Contact.status == BLOCKED)
    ).all()
    return [[str(owner), str(other)] for owner, other in rows]


def list_contacts(session: Session, owner: uuid.UUID, status: str) -> list[SearchHit]:
    """owner's entries of one status, with whether each has accepted owner back."""
    back = aliased(Contact)
    rows = session.execute(
        select(Profile, back.status)
        .join(Contact, Contact.contact_id == Profile.user_id)
        .outerjoin(back, and_(back.owner_id == Profile.user_id, back.contact_id == owner))
        .where(Contact.owner_id == owner, Contact.status == status)
        .order_by(func.lower(Profile.username).collate("C"))
    ).all()
    return [SearchHit(profile=row[0], show_email=row[1] == ACCEPTED) for row in rows]


# --- invitations ------------------------------------------------------------------------


def expire_invitations(session: Session, user: uuid.UUID) -> int:
    """Mark the user's overdue pending invitations expired (on read: no sweeper needed).

    Limited to one user's rows so it rides the inviter and invitee indexes.
    """
    result = session.execute(
        update(Invitation)
        .where(
            or_(Invitation.inviter_id == user, Invitation.invitee_id == user),
            Invitation.status == PENDING,
            Invitation.expires_at <= now(),
        )
        .values(status="expired")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def create_invitation(
    session: Session, inviter: uuid.UUID, invitee: uuid.UUID, message: str, ttl: timedelta
) -> Invitation:
    invitee_profile = _check_pair(session, inviter, invitee)
    expire_invitations(session, inviter)  # an overdue one must not block a new invitation
    if (
        contact_status(session, inviter, invitee) == ACCEPTED
        and contact_status(session, invitee, inviter) == ACCEPTED
    ):
        raise Problem(409, "already-contacts", "You are already contacts")
    invitation = Invitation(
        inviter_id=inviter, invitee_id=invitee, message=message, expires_at=now() + ttl
    )
    session.add(invitation)
    try:
        session.flush()
    except Exception as error:
        session.rollback()
        if "uq_invitations_pending_pair" in str(error):
            raise Problem(409, "invitation-pending", "An invitation is already pending") from None
        raise
    inviter_profile = session.get(Profile, inviter)
    add_event(
        session,
        EVENTS,
        "invitation.created",
        SERVICE,
        {
            "invitation_id": str(invitation.id),
            "inviter_id": str(inviter),
            "inviter_display_name": inviter_profile.display_name if inviter_profile else None,
            "invitee_id": str(invitee),
            "invitee_email": invitee_profile.email,
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    session.commit()
    return invitation


def list_invitations(session: Session, user: uuid.UUID, direction: str) -> list[Invitation]:
    expire_invitations(session, user)
    session.commit()
    column = Invitation.invitee_id if direction == "incoming" else Invitation.inviter_id
    return list(
        session.scalars(
            select(Invitation).where(column == user).order_by(Invitation.created_at.desc())
        )
    )


def _own_pending_invitation(
    session: Session, user: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation:
    invitation = session.get(Invitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.invitee_id != user:
        raise Problem(404, "invitation-not-found", "No such invitation")
    if invitation.status == PENDING and invitation.expires_at <= now():
        invitation.status = "expired"
        session.commit()
    if invitation.status == "expired":
        raise Problem(410, "invitation-expired", "Invitation has expired")
    if invitation.status != PENDING:
        raise Problem(409, "invitation-answered", f"Invitation was already {invitation.status}")
    return invitation


def accept_invitation(session: Session, user: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    # The tombstone check comes before the invitation's row lock, which an erasure of the
    # inviter also wants: the other order could deadlock with it.
    inviter = session.scalar(
        select(Invitation.inviter_id).where(
            Invitation.id == invitation_id, Invitation.invitee_id == user
        )
    )
    if inviter is not None:
        refuse_erased(session, EVENTS, [user, inviter], "invitation")
    invitation = _own_pending_invitation(session, user, invitation_id)
    invitation.status, invitation.responded_at = "accepted", now()
    for owner, other in ((invitation.inviter_id, user), (user, invitation.inviter_id)):
        if _set_contact(session, owner, other, ACCEPTED):
            _contact_added_event(session, owner, other)
    session.commit()
    return invitation


def decline_invitation(session: Session, user: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    invitation = _own_pending_invitation(session, user, invitation_id)
    invitation.status, invitation.responded_at = "declined", now()
    session.commit()
    return invitation
