"""auth as the other services see it, without auth's code: for service suites that need users
and tokens but must not import auth_service (a service's tests import their own service, the kit
and this package, never another service).

What a service sees of auth is its contract, and that is what the stand-in serves:
- access tokens signed as auth signs them (`tokens.TokenIssuer`: EdDSA, auth's claims);
- its JWKS and an empty revocation snapshot over real HTTP on loopback (the kit's
  `TokenVerifier` and `RevocationFeed` fetch them from the JWKS URL's host, as in production);
- its `user.registered` event (services/EVENTS.md, the kit's envelope) published on the test's
  exchange when an AMQP URL and an exchange are given.
Registration itself (passwords, verification, throttling) is auth's business and auth's tests'.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from messaging_kit.events.envelope import new_event

from messaging_testing.erasure import publish_event
from messaging_testing.infra import LiveServer
from messaging_testing.tokens import TokenIssuer

USER_REGISTERED = "user.registered"


@dataclass
class RegisteredUser:
    id: str
    username: str
    email: str
    display_name: str | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def user_registered_data(
    user_id: str, username: str, email: str, display_name: str | None
) -> dict[str, Any]:
    """The `data` of auth's `user.registered` (services/EVENTS.md)."""
    return {
        "user_id": user_id,
        "email": email,
        "username": username,
        "display_name": display_name,
        "verification_url": f"http://127.0.0.1:8080/verify-email?token={uuid.uuid4().hex}",
        "verification_expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    }


class AuthStandIn:
    """Registers users (a new id, an access token, the `user.registered` event) and serves the
    JWKS that verifies their tokens."""

    def __init__(
        self, url: str, issuer: TokenIssuer, amqp_url: str | None, exchange: str | None
    ) -> None:
        self.url = url
        self.issuer = issuer
        self.amqp_url = amqp_url
        self.exchange = exchange

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def register(
        self,
        username: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> RegisteredUser:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        email = email or f"{username}@example.com"
        user_id = str(uuid.uuid4())
        if self.amqp_url and self.exchange:
            data = user_registered_data(user_id, username, email, display_name)
            event = new_event(USER_REGISTERED, "auth", data)
            publish_event(self.amqp_url, self.exchange, event.to_json())
        return RegisteredUser(user_id, username, email, display_name, self.issuer.token(user_id))


@contextmanager
def auth_stand_in(
    amqp_url: str | None = None, exchange: str | None = None
) -> Iterator[AuthStandIn]:
    """The stand-in on a free loopback port; with `amqp_url` and `exchange`, registrations
    publish `user.registered` there (declared as the services declare it: topic, durable)."""
    issuer = TokenIssuer()
    app = FastAPI()
    app.get("/.well-known/jwks.json")(lambda: issuer.jwks)
    # Nobody suspended, no cut-offs: what auth's /internal/v1/revocations says of new users.
    app.get("/internal/v1/revocations")(lambda: {"suspended": [], "not_before": {}})
    with LiveServer(app) as server:
        yield AuthStandIn(server.url, issuer, amqp_url, exchange)
