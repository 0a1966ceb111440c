"""The verified-token cache: skips re-verifying a token, never past exp or a withdrawn key."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm
from messaging_kit.token_cache import VerifiedTokenCache
from messaging_kit.tokens import InvalidToken, TokenVerifier

PRIVATE = ed25519.Ed25519PrivateKey.generate()
PUBLIC = jwt.PyJWK(
    OKPAlgorithm.to_jwk(PRIVATE.public_key(), as_dict=True) | {"kid": "k1", "alg": "EdDSA"}
)


def token(exp_in: int = 300, **extra: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "i",
        "aud": "a",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + exp_in,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims | extra, PRIVATE, algorithm="EdDSA", headers={"kid": "k1"})


class CountingVerifier(TokenVerifier):
    """Counts the full signature checks, to tell a cache hit from a miss."""

    decodes = 0

    def decode(self, token: str) -> tuple[str, dict[str, Any]]:
        self.decodes += 1
        return super().decode(token)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def verifier(keys: dict[str, jwt.PyJWK], cache: VerifiedTokenCache) -> CountingVerifier:
    return CountingVerifier(keys.get, issuer="i", audience="a", cache=cache)


def test_a_token_is_verified_once_then_served_from_the_cache() -> None:
    check = verifier({"k1": PUBLIC}, VerifiedTokenCache())
    good = token()
    first, second = check.verify(good), check.verify(good)
    assert first.user_id == second.user_id
    assert check.decodes == 1


def test_past_exp_the_token_is_verified_afresh() -> None:
    clock = Clock()
    check = verifier({"k1": PUBLIC}, VerifiedTokenCache(clock=clock))
    good = token(exp_in=60)
    check.verify(good)
    clock.now += 61  # the cache's exp passed; jwt's own leeway still accepts it
    check.verify(good)
    assert check.decodes == 2


def test_a_key_withdrawn_from_the_jwks_refuses_cached_tokens() -> None:
    keys = {"k1": PUBLIC}
    check = verifier(keys, VerifiedTokenCache())
    good = token()
    check.verify(good)
    keys.clear()
    with pytest.raises(InvalidToken, match="unknown key"):
        check.verify(good)


def test_refused_tokens_are_not_cached() -> None:
    check = verifier({"k1": PUBLIC}, VerifiedTokenCache())
    header, _, signature = token().split(".")
    forged = f"{header}.{token().split('.')[1]}.{signature}"
    for _ in range(2):
        with pytest.raises(InvalidToken):
            check.verify(forged)
    assert check.decodes == 2


def test_the_cache_is_bounded_least_recently_used_out() -> None:
    cache = VerifiedTokenCache(max_entries=2)
    check = verifier({"k1": PUBLIC}, cache)
    first, second, third = token(), token(), token()
    check.verify(first)
    check.verify(second)
    check.verify(first)  # first is now the most recently used
    check.verify(third)
    assert len(cache) == 2
    assert cache.get(second) is None
    assert cache.get(first) is not None
    assert cache.get(third) is not None
