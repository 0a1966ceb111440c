"""JwksKeys against a real HTTP server: cached, refetched on an unknown kid, rate-limited."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm
from messaging_kit.tokens import InvalidToken, JwksKeys, TokenVerifier
from messaging_testing.infra import LiveServer


def new_key(kid: str) -> tuple[Any, dict[str, Any]]:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "alg": "EdDSA"}
    return private, jwk


def token(private: Any, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": "i", "aud": "a", "sub": "u", "iat": now, "exp": now + 60, "jti": "j"}
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid})


def test_keys_are_cached_and_refetched_for_a_new_kid() -> None:
    published: list[dict[str, Any]] = []
    fetches: list[float] = []
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    def jwks() -> dict[str, Any]:
        fetches.append(time.monotonic())
        return {"keys": published}

    first_private, first_jwk = new_key("k1")
    published.append(first_jwk)
    with LiveServer(app) as server:
        keys = JwksKeys(f"{server.url}/.well-known/jwks.json", min_refresh_seconds=2.0)
        verifier = TokenVerifier(keys, issuer="i", audience="a")
        for _ in range(5):
            verifier.verify(token(first_private, "k1"))
        assert len(fetches) == 1  # cached

        # Made-up kids do not turn the verifier into a load generator against auth.
        for _ in range(20):
            with pytest.raises(InvalidToken):
                verifier.verify(token(first_private, uuid.uuid4().hex))
        assert len(fetches) == 1

        # Rotation: auth publishes k2; once the refresh window has passed, it is fetched.
        second_private, second_jwk = new_key("k2")
        published.append(second_jwk)
        time.sleep(2.1)
        assert verifier.verify(token(second_private, "k2")).user_id == "u"
        assert len(fetches) == 2
        verifier.verify(token(first_private, "k1"))
        assert len(fetches) == 2


def test_an_unreachable_jwks_means_refused_tokens_not_crashes() -> None:
    private, _ = new_key("k1")
    verifier = TokenVerifier(JwksKeys("http://127.0.0.1:9/jwks.json"), issuer="i", audience="a")
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(token(private, "k1"))


def test_needs_io_says_when_verify_would_fetch_keys() -> None:
    """The async principal dependency verifies on the event loop unless this is True."""
    published: list[dict[str, Any]] = []
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    def jwks() -> dict[str, Any]:
        return {"keys": published}

    private, jwk = new_key("k1")
    other, _ = new_key("k2")
    published.append(jwk)
    with LiveServer(app) as server:
        keys = JwksKeys(f"{server.url}/.well-known/jwks.json")
        verifier = TokenVerifier(keys, issuer="i", audience="a")
        good = token(private, "k1")
        assert verifier.needs_io(good)  # nothing fetched yet
        verifier.verify(good)
        assert not verifier.needs_io(good)  # cached token, known key
        assert not verifier.needs_io(token(private, "k1"))  # new token, known key
        assert verifier.needs_io(token(other, "k2"))  # unknown kid: a refetch
        assert not verifier.needs_io("garbage")  # refused before any key lookup
    local = TokenVerifier({"k1": jwt.PyJWK(jwk)}.get, issuer="i", audience="a")
    assert not local.needs_io(token(other, "k2"))  # keys in memory: never any I/O
