"""Access tokens for service tests without a running auth: signed as auth signs them (EdDSA,
auth's claims), with the public key served as a JWKS over real HTTP on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from messaging_testing.infra import LiveServer


class TokenIssuer:
    """Signs access tokens like auth does; `jwks` is what auth's JWKS endpoint would serve."""

    def __init__(self) -> None:
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        self.jwks = {"keys": [jwk]}

    def headers(self, user_id: uuid.UUID | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    def token(self, user_id: uuid.UUID | str) -> str:
        """An access token for the user, valid for 10 minutes."""
        now = int(time.time())
        claims = {
            "iss": "messaging-auth",
            "aud": "messaging",
            "sub": str(user_id),
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})


@contextmanager
def jwks_server(issuer: TokenIssuer) -> Iterator[str]:
    """Serve the issuer's JWKS over real HTTP on loopback; yields its URL."""
    app = FastAPI()
    app.get("/.well-known/jwks.json")(lambda: issuer.jwks)
    with LiveServer(app) as server:
        yield f"{server.url}/.well-known/jwks.json"
