"""Registration that does not tell anyone whether an email address has an account.

Usernames are public handles (any account can search them), so a taken one is refused (409).
An address is private: registering with one that already belongs to an account answers
exactly as a fresh registration does (201, the new account, its tokens, the address as typed,
unverified), and the address's owner is mailed instead (auth_service.registration_notices).
The new account is real but holds a placeholder instead of the address (`unclaimed+<id>@
unclaimed.invalid`, never deliverable) and gets no verification link; `requested_email`
keeps what was typed, so every reader of the account (its owner, users' profile, the admin
view) sees the same thing in both cases.

What would still tell: logging in with the address and the password just chosen. So an
address names an account at login only once verified (crud.find_by_login); until then the
username does.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth_service import SERVICE
from auth_service.addresses import placeholder
from auth_service.models import EVENTS, User
from auth_service.verification import user_event_data

if TYPE_CHECKING:
    from auth_service.crud import Auth

USERNAME_TAKEN = Problem(409, "username-taken", "This username is taken", "pick another one")


def register(
    session: Session,
    auth: Auth,
    *,
    email: str,
    username: str,
    password: str,
    display_name: str | None,
) -> User:
    address = email.strip().lower()
    password_hash = auth.passwords.hash(password)
    for _ in range(2):  # a second pass only when the address was taken meanwhile
        taken = session.scalar(select(User.id).where(User.email == address)) is not None
        user_id = uuid.uuid4()
        user = User(
            id=user_id,
            email=placeholder(user_id) if taken else address,
            requested_email=address,
            username=username.strip(),
            password_hash=password_hash,
            display_name=(display_name or "").strip() or None,
        )
        session.add(user)
        try:
            session.flush()
            break
        except IntegrityError:
            session.rollback()
            name = username.strip().lower()
            if session.scalar(select(User.id).where(func.lower(User.username) == name)):
                raise USERNAME_TAKEN from None
    else:
        raise USERNAME_TAKEN  # pragma: no cover - the address cannot be taken twice over
    data = {**user_event_data(user), "email": address, "confirmable": not taken}
    if taken:
        auth.notices.notify_owner(session, address)
    else:
        data.update(auth.verification.create(session, user).event_data())
    add_event(session, EVENTS, "user.registered", SERVICE, data)
    session.commit()
    return user
