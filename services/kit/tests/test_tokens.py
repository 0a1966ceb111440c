import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from messaging_kit.tokens import InvalidToken, TokenVerifier

ISSUER, AUDIENCE = "messaging-auth", "messaging"


def ed_key(kid: str) -> tuple[ed25519.Ed25519PrivateKey, jwt.PyJWK]:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "alg": "EdDSA"}
    return private, jwt.PyJWK(jwk)


PRIVATE, PUBLIC = ed_key("k1")
KEYS = {"k1": PUBLIC}
VERIFIER = TokenVerifier(KEYS.get, issuer=ISSUER, audience=AUDIENCE)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return {key: value for key, value in (base | overrides).items() if value is not None}


def sign(payload: dict[str, Any], kid: str = "k1", key: Any = PRIVATE) -> str:
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_good_token_is_accepted() -> None:
    payload = claims()
    principal = VERIFIER.verify(sign(payload))
    assert principal.user_id == payload["sub"]
    assert principal.token_id == payload["jti"]


def test_an_es256_key_works_too() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": "e1", "alg": "ES256"}
    verifier = TokenVerifier({"e1": jwt.PyJWK(jwk)}.get, issuer=ISSUER, audience=AUDIENCE)
    token = jwt.encode(claims(), private, algorithm="ES256", headers={"kid": "e1"})
    assert verifier.verify(token).user_id


def test_alg_none_is_refused() -> None:
    header = b64(json.dumps({"alg": "none", "kid": "k1", "typ": "JWT"}).encode())
    token = f"{header}.{b64(json.dumps(claims()).encode())}."
    with pytest.raises(InvalidToken):
        VERIFIER.verify(token)


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    public_pem = PRIVATE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = PRIVATE.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    for secret in (public_pem, raw, b64(raw).encode()):
        header = b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
        body = b64(json.dumps(claims()).encode())
        import hashlib
        import hmac

        signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken):
            VERIFIER.verify(f"{header}.{body}.{b64(signature)}")


@pytest.mark.parametrize(
    "payload",
    [
        claims(exp=int(time.time()) - 120),
        claims(aud="someone-else"),
        claims(iss="evil-issuer"),
        claims(jti=None),
        claims(exp=None),
        claims(sub=None),
    ],
    ids=["expired", "wrong-aud", "wrong-iss", "no-jti", "no-exp", "no-sub"],
)
def test_bad_claims_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        VERIFIER.verify(sign(payload))


def test_unknown_kid_and_foreign_keys_are_refused() -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        VERIFIER.verify(sign(claims(), kid="k9"))
    other_private, _ = ed_key("k1")
    with pytest.raises(InvalidToken):
        VERIFIER.verify(sign(claims(), key=other_private))


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    with pytest.raises(InvalidToken):
        VERIFIER.verify(f"{header}.{forged}.{signature}")


def test_garbage_is_refused() -> None:
    for token in ("", "abc", "a.b.c", "...."):
        with pytest.raises(InvalidToken):
            VERIFIER.verify(token)
