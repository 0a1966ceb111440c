"""/api/v1/auth: register, login, refresh, me, logout, change password."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from auth_service import crud
from auth_service.api.deps import AuthDep, CurrentUser, SessionDep
from auth_service.schemas import (
    ChangePasswordRequest,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    TokenResponse,
    UserOut,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def token_response(pair: crud.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access.token,
        refresh_token=pair.refresh_token,
        expires_in=pair.access.expires_in,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: RegisterRequest, session: SessionDep, auth: AuthDep) -> RegisterResponse:
    user = crud.register(session, auth, **body.model_dump())
    pair = crud.start_session(session, auth, user)
    return RegisterResponse(user=UserOut.model_validate(user), tokens=token_response(pair))


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
    return UserOut.model_validate(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, session: SessionDep) -> Response:
    crud.logout(session, body.refresh_token)
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
