"""Auth's operations as plain functions over a session; routes only call these, and each
commits the session it was given (services/README.md, "Transactions")."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from messaging_kit.events import add_event
from messaging_kit.problems import Problem
from messaging_kit.tokens import LEEWAY_SECONDS
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from auth_service import SERVICE, lifecycle, registration
from auth_service.core.security import (
    AccessToken,
    Passwords,
    TokenIssuer,
    hash_refresh_token,
    new_refresh_token,
)
from auth_service.core.throttle import LoginThrottle
from auth_service.models import EVENTS, RefreshToken, User
from auth_service.registration_notices import RegistrationNotices
from auth_service.unlock import UnlockLinks
from auth_service.verification import VerificationLinks

BAD_CREDENTIALS = Problem(401, "invalid-credentials", "Login or password is wrong")
# Only said after the right password: nobody learns of a suspension without it.
SUSPENDED = Problem(403, "account-suspended", "This account is suspended", "contact support")


@dataclass(frozen=True)
class TokenPair:
    access: AccessToken
    refresh_token: str


@dataclass(frozen=True)
class Auth:
    """What the operations need besides a session; built once per app."""

    passwords: Passwords
    issuer: TokenIssuer
    throttle: LoginThrottle
    refresh_ttl: timedelta
    verification: VerificationLinks
    unlock: UnlockLinks
    notices: RegistrationNotices


def now() -> datetime:
    return datetime.now(UTC)


def get_user(session: Session, user_id: str) -> User | None:
    try:
        return session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None


def find_by_login(session: Session, login: str) -> User | None:
    """A login is a username or an email address, both case-insensitive. An address given at
    registration (`requested_email` set) names the account only once verified: else logging
    in with an address and the password just registered with would tell whether the address
    had an account (auth_service.registration). Accounts from before that, and those
    imported from the monolith, keep logging in with theirs."""
    login = login.strip().lower()
    address_counts = or_(User.email_verified_at.is_not(None), User.requested_email.is_(None))
    return session.scalars(
        select(User).where(
            or_(func.lower(User.username) == login, and_(User.email == login, address_counts))
        )
    ).first()


def register(
    session: Session,
    auth: Auth,
    *,
    email: str,
    username: str,
    password: str,
    display_name: str | None,
) -> tuple[User, TokenPair]:
    """The account and its first login's tokens; the same answer whether or not the address
    has an account (auth_service.registration)."""
    user = registration.register(
        session,
        auth,
        email=email,
        username=username,
        password=password,
        display_name=display_name,
    )
    return user, start_session(session, auth, user)


def start_session(session: Session, auth: Auth, user: User) -> TokenPair:
    """A fresh refresh-token family plus an access token (after login or register). The
    family id is the session id (`sid`) of every access token issued for this login."""
    family_id = uuid.uuid4()
    refresh = _new_refresh(session, auth, user.id, family_id=family_id)
    session.commit()
    return TokenPair(access=issue_access(auth, user, family_id), refresh_token=refresh)


def issue_access(auth: Auth, user: User, session_id: uuid.UUID) -> AccessToken:
    return auth.issuer.issue(str(user.id), user.username, user.role, str(session_id))


def _new_refresh(session: Session, auth: Auth, user_id: uuid.UUID, family_id: uuid.UUID) -> str:
    token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=hash_refresh_token(token),
            expires_at=now() + auth.refresh_ttl,
        )
    )
    return token


def login(session: Session, auth: Auth, *, login: str, password: str, address: str) -> TokenPair:
    user = find_by_login(session, login)
    # One account, whatever names it: its id when the login is known (username and email
    # count together), else the login as typed.
    account = str(user.id) if user is not None else login.strip().lower()
    verdict = auth.throttle.check(account, address)
    if not verdict.allowed:
        raise Problem(
            429,
            "login-throttled",
            "Too many failed logins",
            f"try again in {verdict.retry_after} s",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    if user is None:
        auth.passwords.burn_time(password)
        auth.throttle.record_failure(account, address)
        raise BAD_CREDENTIALS
    check = auth.passwords.verify(user.password_hash, password)
    if not check.ok or not user.is_active:
        if auth.throttle.over_account_limit(auth.throttle.record_failure(account, address)):
            auth.unlock.offer(session, user)  # the owner can get past it (auth_service.unlock)
        raise BAD_CREDENTIALS
    auth.throttle.record_success(account, address)
    if user.suspended_at is not None:
        raise SUSPENDED
    if check.needs_rehash:
        user.password_hash = auth.passwords.hash(password)
    return start_session(session, auth, user)


def refresh(session: Session, auth: Auth, token: str) -> TokenPair:
    """Rotate: the presented token is spent, a new one of the same family is returned.

    Presenting a spent or revoked token means it leaked: the whole family is revoked.
    """
    stored = session.scalars(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(token))
        .with_for_update()
    ).first()
    if stored is None:
        raise Problem(401, "invalid-refresh-token", "Refresh token not recognised")
    if stored.rotated_at is not None or stored.revoked_at is not None:
        revoke_family(session, auth, stored.user_id, stored.family_id)
        session.commit()
        raise Problem(
            401,
            "refresh-token-reused",
            "Refresh token was already used",
            "every session from this login has been revoked; log in again",
        )
    if stored.expires_at <= now():
        raise Problem(401, "invalid-refresh-token", "Refresh token expired")
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active or user.suspended_at is not None:
        raise Problem(401, "invalid-refresh-token", "Account is disabled or suspended")
    stored.rotated_at = now()
    new_token = _new_refresh(session, auth, user.id, stored.family_id)
    session.commit()
    return TokenPair(access=issue_access(auth, user, stored.family_id), refresh_token=new_token)


def revoke_family(session: Session, auth: Auth, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
    """End one login: its refresh tokens now, its access tokens (`sid` = the family) on every
    service within a second, through `user.session_revoked` (messaging_kit.revocations)."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if not getattr(result, "rowcount", 0):
        return  # already ended: its event went out then
    expires_at = time.time() + auth.issuer.ttl_seconds + LEEWAY_SECONDS
    add_event(
        session,
        EVENTS,
        "user.session_revoked",
        SERVICE,
        {"user_id": str(user_id), "session_id": str(family_id), "expires_at": expires_at},
    )


def logout(session: Session, auth: Auth, token: str) -> None:
    """End the session the refresh token belongs to; unknown tokens are a quiet no-op."""
    stored = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
    ).first()
    if stored is not None:
        revoke_family(session, auth, stored.user_id, stored.family_id)
        session.commit()


def logout_everywhere(session: Session, user: User) -> None:
    """End every login of the account (a lost or shared device)."""
    lifecycle.force_logout(session, user)
    session.commit()


def session_ended(session: Session, session_id: str) -> bool:
    """Whether the login `session_id` names was ended (auth's own check of its tokens)."""
    try:
        family = uuid.UUID(session_id)
    except ValueError:
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    RefreshToken.family_id == family, RefreshToken.revoked_at.is_not(None)
                )
            )
        )
    )


def change_password(
    session: Session, auth: Auth, user: User, *, current_password: str, new_password: str
) -> None:
    if not auth.passwords.verify(user.password_hash, current_password).ok:
        raise Problem(403, "wrong-password", "Current password is wrong")
    user.password_hash = auth.passwords.hash(new_password)
    user.password_changed_at = now()
    # Every session dies with the old password: refresh tokens now, access tokens on every
    # service within a second (`user.tokens_revoked`); the caller logs in again.
    lifecycle.force_logout(session, user)
    session.commit()
