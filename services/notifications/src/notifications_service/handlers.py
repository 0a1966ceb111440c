"""Email-side event handlers: welcome (with the email verification link), a new verification
link, a login unlock link, a registration with a taken address, invitation, and the digest's
bookkeeping.

Each runs inside the kit consumer's transaction (event id recorded with the effect). An SMTP
error raises: the consumer retries with backoff, then parks the event in the dead-letter
queue with the reason.

An event naming an erased user (late, or redelivered after the erasure) is skipped: no mail,
no row (messaging_kit.tombstones). The check runs once per event, in the consumer's session,
so its lock holds a concurrent erasure off until the handler's writes and mail are done; a
second connection of the same handler must not take it too (it would queue behind the
erasure, which waits for the first).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from messaging_kit.db import Database
from messaging_kit.events import Event
from messaging_kit.tombstones import erased_among
from sqlalchemy.orm import Session

from notifications_service import crud
from notifications_service.core.config import Settings
from notifications_service.core.emails import Email, SmtpMailer, Templates
from notifications_service.core.presence import PresenceReader
from notifications_service.models import EVENTS, Recipient

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
Skip = Callable[[Event], bool]
MESSAGE_EVENTS = ("message.created", "group.message.created")


def message_id(event: Event, kind: str, settings: Settings) -> str:
    domain = settings.mail_from.rpartition("@")[2].rstrip(">").strip() or "messaging.local"
    return f"<{event.id}.{kind}@{domain}>"


def message_recipients(data: dict[str, object]) -> list[uuid.UUID]:
    """Who a message event is for: `recipient_ids` (groups) or `recipient_id` (direct), never
    its sender."""
    raw = data.get("recipient_ids")
    listed = raw if isinstance(raw, list) else [data.get("recipient_id")]
    sender = str(data.get("sender_id"))
    return [uuid.UUID(str(user)) for user in listed if user and str(user) != sender]


def unerased(
    session: Session, event: Event, users: list[uuid.UUID], author: object = None
) -> list[uuid.UUID]:
    """Those of the users not erased; none at all if the event's author (a message's sender,
    an invitation's inviter) was: what they sent is erased too."""
    authors = {uuid.UUID(str(author))} if author else set()
    erased = erased_among(session, EVENTS, [*users, *authors])
    if not erased:
        return users
    log.info("erased users skipped", extra={"event_id": event.id, "erased": len(erased)})
    return [] if erased & authors else [user for user in users if user not in erased]


def verification_url(event: Event) -> str | None:
    """Auth's link (http or https only: nothing else goes into an href)."""
    url = str(event.data.get("verification_url") or "")
    return url if url.startswith(("https://", "http://")) else None


def email_handlers(
    db: Database,
    settings: Settings,
    mailer: SmtpMailer,
    templates: Templates,
    presence: PresenceReader,
) -> dict[str, Handler]:
    def mail_account_holder(event: Event, template: str, name: str, **context: str) -> None:
        """A mail about the account to its own address (welcome, verification link)."""
        subject, text, html = templates.render(
            template,
            display_name=name,
            app_url=settings.app_url,
            verification_url=verification_url(event),
            **context,
        )
        address = str(event.data["email"])
        mailer.send(
            Email(address, name, subject, text, html, message_id(event, template, settings))
        )

    def user_registered(session: Session, event: Event) -> None:
        if event.data.get("confirmable") is False:
            # Registered with an address that has an account: its owner was told instead
            # (user.registration_attempted); nothing goes there on this account's behalf.
            return
        user_id = uuid.UUID(str(event.data["user_id"]))
        name = str(event.data.get("display_name") or event.data.get("username") or "")
        if not unerased(session, event, [user_id]):
            return
        # Recorded in its own transaction: even if the welcome mail ends in the dead-letter
        # queue, later digests still know where to write.
        with db.sessions() as own, own.begin():
            crud.save_recipient(own, user_id, str(event.data["email"]), name)
        if not crud.wants(session, user_id, "welcome"):
            log.info("welcome opted out", extra={"user_id": str(user_id)})
            return
        mail_account_holder(event, "welcome", name, username=str(event.data.get("username") or ""))

    def verification_requested(session: Session, event: Event) -> None:
        # Asked for by the user (auth throttles it): not a kind one can opt out of.
        if not unerased(session, event, [uuid.UUID(str(event.data["user_id"]))]):
            return
        name = str(event.data.get("display_name") or event.data.get("username") or "")
        mail_account_holder(event, "verify", name)

    def login_locked(session: Session, event: Event) -> None:
        # Someone is guessing this account's password: its owner gets the unlock link (auth
        # sends at most one per hour). Not a kind one can opt out of.
        if not unerased(session, event, [uuid.UUID(str(event.data["user_id"]))]):
            return
        url = str(event.data.get("unlock_url") or "")
        if not url.startswith(("https://", "http://")):
            log.warning("unlock link refused", extra={"event_id": event.id})
            return
        name = str(event.data.get("display_name") or event.data.get("username") or "")
        mail_account_holder(event, "unlock", name, unlock_url=url)

    def registration_attempted(session: Session, event: Event) -> None:
        # Someone registered with this address, which has an account: its owner hears of it
        # (auth sends at most one an hour). Not a kind one can opt out of.
        if not unerased(session, event, [uuid.UUID(str(event.data["user_id"]))]):
            return
        name = str(event.data.get("display_name") or event.data.get("username") or "")
        mail_account_holder(
            event, "registered_again", name, username=str(event.data.get("username") or "")
        )

    def invitation_created(session: Session, event: Event) -> None:
        invitee = uuid.UUID(str(event.data["invitee_id"]))
        if not unerased(session, event, [invitee], event.data.get("inviter_id")):
            return
        if not crud.wants(session, invitee, "invitation"):
            log.info("invitation email opted out", extra={"user_id": str(invitee)})
            return
        recipient = session.get(Recipient, invitee)
        address = event.data.get("invitee_email") or (recipient.email if recipient else None)
        if not address:
            log.warning("invitee has no known email address", extra={"user_id": str(invitee)})
            return
        name = recipient.display_name if recipient else str(address).partition("@")[0]
        subject, text, html = templates.render(
            "invitation",
            display_name=name,
            inviter_name=str(event.data.get("inviter_display_name") or "Someone"),
            expires_at=str(event.data.get("expires_at") or "")[:10],
            app_url=settings.app_url,
        )
        mailer.send(
            Email(
                str(address), name, subject, text, html, message_id(event, "invitation", settings)
            )
        )

    def message_created(session: Session, event: Event) -> None:
        sender = event.data.get("sender_id")
        group = event.data.get("group_id")
        for user_id in unerased(session, event, message_recipients(event.data), sender):
            # Online users see it live. If Redis does not answer, queue it anyway: the digest
            # worker looks again before it sends anything.
            if presence.online_or_unknown(str(user_id)) or not crud.wants(
                session, user_id, "digest"
            ):
                continue
            crud.add_digest_item(
                session,
                user_id,
                uuid.UUID(event.id),
                uuid.UUID(str(sender)) if sender else None,
                uuid.UUID(str(group)) if group else None,
            )

    return {
        "user.registered": user_registered,
        "user.verification_requested": verification_requested,
        "user.login_locked": login_locked,
        "user.registration_attempted": registration_attempted,
        "invitation.created": invitation_created,
        "message.created": message_created,
        "group.message.created": message_created,
    }


def email_skips(presence: PresenceReader) -> dict[str, Skip]:
    """Message events the email consumer acks without a transaction: every recipient is online
    (they see it live: message_created would queue nothing), the usual case in a live chat.
    Read in one Redis round trip; a Redis error leaves the decision to the handler."""

    def everyone_online(event: Event) -> bool:
        return presence.all_online([str(user) for user in message_recipients(event.data)])

    return dict.fromkeys(MESSAGE_EVENTS, everyone_online)
