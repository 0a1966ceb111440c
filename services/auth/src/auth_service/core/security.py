"""Passwords (argon2id, legacy bcrypt upgraded on login), access and refresh tokens."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from dataclasses import dataclass

import bcrypt
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auth_service.core.keys import KeyRing

LEGACY_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    needs_rehash: bool = False


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when the account does not exist, so both paths cost the same.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> PasswordCheck:
        if stored_hash.startswith(LEGACY_BCRYPT_PREFIXES):
            ok = bcrypt.checkpw(password.encode()[:72], stored_hash.encode())
            return PasswordCheck(ok=ok, needs_rehash=ok)
        try:
            self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return PasswordCheck(ok=False)
        return PasswordCheck(ok=True, needs_rehash=self.hasher.check_needs_rehash(stored_hash))

    def burn_time(self, password: str) -> None:
        self.verify(self._decoy, password)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int
    jti: str


class TokenIssuer:
    def __init__(self, keys: KeyRing, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(
        self, user_id: str, username: str, role: str = "user", session_id: str | None = None
    ) -> AccessToken:
        key = self.keys.signing_key()
        now = issued_at(time.time())
        jti = uuid.uuid4().hex
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "username": username,
            "role": role,
            # Milliseconds (a NumericDate may have a fraction): a token from a login just after
            # a force logout must not fall in the same whole second as the revocation cut-off.
            "iat": now,
            "exp": int(now) + self.ttl_seconds,
            "jti": jti,
        }
        if session_id is not None:
            # The login this token belongs to (its refresh-token family): logout ends it
            # everywhere through `user.session_revoked`.
            claims["sid"] = session_id
        token = jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )
        return AccessToken(token=token, expires_in=self.ttl_seconds, jti=jti)


def issued_at(now: float) -> float:
    """Rounded up to the millisecond, so never before the moment it stands for."""
    return math.ceil(now * 1000) / 1000


def new_refresh_token() -> str:
    """Opaque: 256 random bits; only its hash is stored."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


# Email verification tokens are the same kind of secret: random, stored only as a hash.
new_opaque_token = new_refresh_token
hash_opaque_token = hash_refresh_token
