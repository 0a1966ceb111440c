"""/api/v1/auth: register, login, refresh, me, logout, change password, verify the email
address, delete the account and follow its erasure."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from auth_service import crud, erasure
from auth_service.api.deps import AuthDep, CurrentUser, SessionDep
from auth_service.core.config import Settings
from auth_service.schemas import (
    ChangePasswordRequest,
    DeleteAccountRequest,
    ErasureOut,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    TokenResponse,
    UnlockRequest,
    UserOut,
    VerificationSent,
    VerifyEmailRequest,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def token_response(pair: crud.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access.token,
        refresh_token=pair.refresh_token,
        expires_in=pair.access.expires_in,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(
    body: RegisterRequest, session: SessionDep, auth: AuthDep, response: Response
) -> RegisterResponse:
    user, pair = crud.register(session, auth, **body.model_dump())
    # The new account, as its owner reads it (the admin view is /api/v1/admin/users/{id}).
    response.headers["Location"] = "/api/v1/auth/me"
    return RegisterResponse(user=UserOut.of(user), tokens=token_response(pair))


@router.post("/login")
def login(
    body: LoginRequest, request: Request, session: SessionDep, auth: AuthDep
) -> TokenResponse:
    address = request.client.host if request.client else "unknown"
    pair = crud.login(session, auth, login=body.login, password=body.password, address=address)
    return token_response(pair)


@router.post("/refresh")
def refresh(body: RefreshRequest, session: SessionDep, auth: AuthDep) -> TokenResponse:
    return token_response(crud.refresh(session, auth, body.refresh_token))


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, session: SessionDep, auth: AuthDep) -> Response:
    """End this login: its refresh token, and its access tokens on every service."""
    crud.logout(session, auth, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout/everywhere", status_code=status.HTTP_204_NO_CONTENT)
def logout_everywhere(user: CurrentUser, session: SessionDep) -> Response:
    """End every login of the account, this one included (a lost or shared device)."""
    crud.logout_everywhere(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: ChangePasswordRequest, user: CurrentUser, session: SessionDep, auth: AuthDep
) -> Response:
    crud.change_password(
        session,
        auth,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/verify-email")
def verify_email(body: VerifyEmailRequest, session: SessionDep, auth: AuthDep) -> UserOut:
    """The token from the mailed link marks the address verified (no login needed: the link
    may be opened in another browser)."""
    return UserOut.of(auth.verification.verify(session, body.token))


@router.post("/unlock", status_code=status.HTTP_204_NO_CONTENT)
def unlock(body: UnlockRequest, request: Request, auth: AuthDep) -> Response:
    """The token from the mailed unlock link: the account's failed logins are forgotten and
    this address may log in past the account-wide limit (auth_service.unlock)."""
    address = request.client.host if request.client else "unknown"
    auth.throttle.unlock(auth.unlock.redeem(body.token), address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
def resend_verification(user: CurrentUser, session: SessionDep, auth: AuthDep) -> VerificationSent:
    """A new link by mail (older links stop working); a few per hour at most."""
    link = auth.verification.resend(session, user)
    return VerificationSent(expires_at=link.expires_at)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.delete("/me", status_code=status.HTTP_202_ACCEPTED)
def delete_account(
    body: DeleteAccountRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    auth: AuthDep,
) -> ErasureOut:
    """Delete the account (password confirms it). Auth's rows go at once, every token stops
    working, and every service erases what it holds; follow it at `/erasures/{erasure_id}`."""
    settings = settings_of(request)
    first_retry = timedelta(seconds=settings.erasure_retry_delay_seconds)
    record = erasure.request(session, auth.passwords, user, body.password, first_retry=first_retry)
    return ErasureOut.model_validate(erasure.status(record, {}, settings.erasure_service_names))


@router.get("/erasures/{erasure_id}")
def erasure_status(erasure_id: uuid.UUID, request: Request, session: SessionDep) -> ErasureOut:
    """Per-service state of an erasure; `complete` once every service confirmed. The random
    erasure id is the capability (the account, and so its tokens, no longer exist)."""
    record, confirmed = erasure.tracked(session, erasure_id)
    services = settings_of(request).erasure_service_names
    return ErasureOut.model_validate(erasure.status(record, confirmed, services))
