"""Signing keys from a mounted directory; two (or more) live at once during a rotation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

# A Secret update reaches the mounted files within about a minute; re-read at that pace.
RELOAD_SECONDS = 30.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # "EdDSA" or "ES256"
    private_key: Any
    public_jwk: dict[str, Any]
    verifier: jwt.PyJWK


def load_key(path: Path, kid: str | None = None) -> SigningKey:
    kid = kid or path.stem
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm = "EdDSA"
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        algorithm = "ES256"
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        raise ValueError(f"{path.name}: only Ed25519 and P-256 keys can sign access tokens")
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return SigningKey(
        kid=kid,
        algorithm=algorithm,
        private_key=private_key,
        public_jwk=jwk,
        verifier=jwt.PyJWK(jwk),
    )


def generate_ed25519_pem() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class KeyRing:
    def __init__(self, directory: str, active_kid: str = "") -> None:
        self.directory = Path(directory)
        self.active_kid = active_kid
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        keys = {}
        for path in sorted(self.directory.glob("*.pem")):
            key = load_key(path, self._kid_beside(path))
            keys[key.kid] = key
        if not keys:
            raise ValueError(f"no <kid>.pem signing keys in {self.directory}")
        if self.active_kid and self.active_kid not in keys:
            raise ValueError(f"ACTIVE_KEY_ID {self.active_kid} has no file in {self.directory}")
        self._keys = keys
        self._loaded_at = time.monotonic()

    def _kid_beside(self, path: Path) -> str | None:
        """The operator's Secret layout: `private.pem` plus a `kid` file naming it."""
        kid_file = self.directory / "kid"
        if path.name == "private.pem" and kid_file.is_file():
            return kid_file.read_text().strip() or None
        return None

    def _fresh(self) -> dict[str, SigningKey]:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            with self._lock:
                try:
                    self.reload()
                except (OSError, ValueError):
                    self._loaded_at = time.monotonic()  # keep the last good set
        return self._keys

    def signing_key(self) -> SigningKey:
        keys = self._fresh()
        return keys[self.active_kid] if self.active_kid else keys[max(keys)]

    def public_key(self, kid: str) -> jwt.PyJWK | None:
        key = self._fresh().get(kid)
        return key.verifier if key else None

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self._fresh().values()]}
