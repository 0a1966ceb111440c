"""Access-token checks. Only auth signs; every service verifies locally against auth's JWKS.

RFC 8725 in practice: the algorithm comes from our key (never from the token header), only
asymmetric algorithms are accepted, and iss, aud, exp, iat, sub and jti are all required.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from messaging_kit.problems import Problem
from messaging_kit.token_cache import VerifiedTokenCache

if TYPE_CHECKING:
    from messaging_kit.revocations import RevocationList

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256"})
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti"]
# Leeway for clock skew between pods.
LEEWAY_SECONDS = 10


@dataclass(frozen=True)
class Principal:
    """Who made the request, as the access token says."""

    user_id: str
    username: str | None
    token_id: str
    claims: dict[str, Any]


class InvalidToken(Exception):  # noqa: N818 - reads better at call sites
    pass


class RevokedToken(InvalidToken):
    """A valid signature, but auth has since suspended the user or revoked their tokens."""


KeyLookup = Callable[[str], "jwt.PyJWK | None"]


class JwksKeys:
    """Auth's public keys fetched over HTTP, cached, refetched when an unknown kid shows up.

    A refetch happens at most every `min_refresh_seconds`, so a stream of tokens with made-up
    kids cannot turn us into a load generator against auth.
    """

    def __init__(
        self, url: str, *, min_refresh_seconds: float = 10.0, max_age_seconds: float = 3600.0
    ) -> None:
        self.url = url
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def fetch(self) -> None:
        response = httpx.get(self.url, timeout=5.0)
        response.raise_for_status()
        keys = {}
        for entry in response.json().get("keys", []):
            if entry.get("kid") and entry.get("alg") in ALLOWED_ALGORITHMS:
                keys[entry["kid"]] = jwt.PyJWK(entry)
        self._keys = keys
        self._fetched_at = time.monotonic()

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key if it is known and fresh: what __call__ returns without fetching."""
        key = self._keys.get(kid)
        if key is not None and time.monotonic() - self._fetched_at < self.max_age_seconds:
            return key
        return None

    def __call__(self, kid: str) -> jwt.PyJWK | None:
        age = time.monotonic() - self._fetched_at
        key = self._keys.get(kid)
        if key is not None and age < self.max_age_seconds:
            return key
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if (key is None and age >= self.min_refresh_seconds) or age >= self.max_age_seconds:
                try:
                    self.fetch()
                except (httpx.HTTPError, ValueError) as error:
                    log.warning("JWKS fetch failed", extra={"url": self.url, "error": str(error)})
            return self._keys.get(kid)


class TokenVerifier:
    def __init__(
        self,
        keys: KeyLookup,
        *,
        issuer: str,
        audience: str,
        revocations: RevocationList | None = None,
        cache: VerifiedTokenCache | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # Set by the kit's app lifespan (messaging_kit.revocations) for every token checker.
        self.revocations = revocations
        self.cache = cache if cache is not None else VerifiedTokenCache()

    def needs_io(self, token: str) -> bool:
        """Whether verify() may fetch keys over the network: a key lookup that has a cache
        (JwksKeys) answers without one for a known, fresh kid. Otherwise verify() is CPU only
        (a cached token: a dict lookup; a new one: one signature check)."""
        cached_key = getattr(self.keys, "cached", None)
        if cached_key is None:
            return False
        entry = self.cache.get(token)
        if entry is not None:
            return cached_key(entry.kid) is None
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return False  # refused by verify() before any key lookup
        return not isinstance(kid, str) or cached_key(kid) is None

    def verify(self, token: str) -> Principal:
        claims = self.verified_claims(token)
        # Never cached: a suspension or force logout takes effect on the next request.
        if self.revocations is not None:
            sid = claims.get("sid")
            refusal = self.revocations.refusal(
                str(claims["sub"]), float(claims["iat"]), str(sid) if sid else None
            )
            if refusal is not None:
                raise RevokedToken(refusal)
        return Principal(
            user_id=str(claims["sub"]),
            username=claims.get("username"),
            token_id=str(claims["jti"]),
            claims=claims,
        )

    def verified_claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature and claims check out (cached until exp;
        the key must still be published). Checks that can change during a token's life,
        such as revocation, belong after this, uncached."""
        cached = self.cache.get(token)
        if cached is not None:
            if self.keys(cached.kid) is None:
                raise InvalidToken("token signed by an unknown key")
            return cached.claims
        kid, claims = self.decode(token)
        self.cache.put(token, kid, claims)
        return claims

    def decode(self, token: str) -> tuple[str, dict[str, Any]]:
        """Check the signature against our key for its kid, then the registered claims."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no kid")
        key = self.keys(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        algorithm = key.algorithm_name
        if algorithm not in ALLOWED_ALGORITHMS or header.get("alg") != algorithm:
            raise InvalidToken("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        return kid, claims


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "unauthorized",
            "Authentication required",
            "send an access token as `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def principal_dependency(get_verifier: Callable[[Request], TokenVerifier]) -> Any:
    """Build a FastAPI dependency returning the request's Principal or a 401 problem."""

    async def current_principal(request: Request) -> Principal:
        token = bearer_token(request)
        verifier = get_verifier(request)
        try:
            # On the event loop unless keys must be fetched: a threadpool hop costs more than
            # the check itself.
            if verifier.needs_io(token):
                return await run_in_threadpool(verifier.verify, token)
            return verifier.verify(token)
        except InvalidToken as error:
            raise Problem(
                401,
                "token-revoked" if isinstance(error, RevokedToken) else "invalid-token",
                "Access token refused",
                str(error),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None

    return current_principal
