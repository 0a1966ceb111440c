"""Builds the auth service's ASGI app (`create_app` is uvicorn's factory)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from messaging_kit.redis_client import redis_client as redis_client_for
from messaging_kit.service import Consumes, Service
from messaging_kit.tokens import TokenVerifier

from auth_service import SERVICE, crud
from auth_service.api.routes import admin, auth, internal, keys
from auth_service.core.config import Settings, get_settings
from auth_service.core.keys import KeyRing
from auth_service.core.security import Passwords, TokenIssuer
from auth_service.core.throttle import LoginThrottle
from auth_service.erasure import ErasureRetrier, erased_handler
from auth_service.models import EVENTS
from auth_service.registration_notices import RegistrationNotices
from auth_service.unlock import UnlockLinks
from auth_service.verification import VerificationLinks


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    service = Service(SERVICE, settings, EVENTS)
    redis_client = redis_client_for(settings.redis_url)
    key_ring = KeyRing(settings.signing_keys_dir, settings.active_key_id)
    retrier = ErasureRetrier(
        service.db,
        poll_seconds=settings.erasure_retry_poll_seconds,
        base_seconds=settings.erasure_retry_delay_seconds,
        max_seconds=settings.erasure_retry_max_delay_seconds,
    )
    app = service.app(
        routers=[auth.router, admin.router, keys.router, internal.router],
        # Confirmations of account erasure from every other service.
        consumers={
            "consumer": Consumes(
                settings.events_queue,
                {"user.erased": erased_handler(settings.erasure_service_names)},
            )
        },
        workers={"retrier": retrier},
        readiness={"redis": redis_client.ping},
        closes=[redis_client.close],
        # Auth verifies its own tokens with its own key, not over JWKS.
        verifier=TokenVerifier(
            key_ring.public_key, issuer=settings.token_issuer, audience=settings.token_audience
        ),
        state={"keys": key_ring},
        description="Registration, login, refresh-token rotation, email verification, account "
        "deletion and erasure, admin operations, and the public signing keys.",
    )
    app.state.auth = crud.Auth(
        passwords=Passwords(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        ),
        issuer=TokenIssuer(
            key_ring,
            settings.token_issuer,
            settings.token_audience,
            settings.access_token_ttl_seconds,
        ),
        throttle=LoginThrottle(
            redis_client,
            max_per_account=settings.login_max_failures_per_account,
            max_per_address=settings.login_max_failures_per_address,
            max_per_account_all_addresses=settings.login_max_failures_per_account_all_addresses,
            window_seconds=settings.login_throttle_window_seconds,
            max_backoff_seconds=settings.login_max_backoff_seconds,
            prefix=f"{settings.redis_key_prefix}:login-failures",
        ),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        verification=VerificationLinks(
            public_base_url=settings.public_base_url,
            ttl=timedelta(seconds=settings.email_verification_ttl_seconds),
            redis=redis_client,
            resend_max=settings.verification_resend_max,
            resend_window_seconds=settings.verification_resend_window_seconds,
            prefix=settings.redis_key_prefix,
        ),
        unlock=UnlockLinks(
            redis=redis_client,
            public_base_url=settings.public_base_url,
            ttl_seconds=settings.login_unlock_ttl_seconds,
            prefix=settings.redis_key_prefix,
        ),
        notices=RegistrationNotices(redis=redis_client, prefix=settings.redis_key_prefix),
    )
    return app
