"""Access tokens as auth issues them, the attacks RFC 8725 warns about, and key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from auth_service.core.keys import generate_ed25519_pem
from auth_service.main import create_app
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from messaging_testing.infra import bearer

pytestmark = pytest.mark.infra


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def private_key(keys_dir: Path) -> Any:
    return serialization.load_pem_private_key(
        (keys_dir / "2026-01-01.pem").read_bytes(), password=None
    )


def test_access_token_claims(client: TestClient, register: Any) -> None:
    user = register(client)
    header, claims = parts(user["tokens"]["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"] == "2026-01-01"
    assert claims["iss"] == "messaging-auth"
    assert claims["aud"] == "messaging"
    assert claims["sub"] == user["user"]["id"]
    assert set(claims) >= {"exp", "iat", "jti"}
    # iat has milliseconds (see TokenIssuer.issue), exp whole seconds.
    assert claims["exp"] - int(claims["iat"]) == 900
    assert claims["role"] == "user"


def test_forged_tokens_are_refused(client: TestClient, register: Any, keys_dir: Path) -> None:
    user = register(client)
    _, claims = parts(user["tokens"]["access_token"])
    key = private_key(keys_dir)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def signed(payload: dict[str, Any], kid: str = "2026-01-01", signer: Any = key) -> str:
        return jwt.encode(payload, signer, algorithm="EdDSA", headers={"kid": kid})

    def hs256(secret: bytes) -> str:
        head = b64(json.dumps({"alg": "HS256", "kid": "2026-01-01"}).encode())
        body = b64(json.dumps(claims).encode())
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(mac)}"

    good = signed(claims)
    head, _, signature = good.split(".")
    other_key = serialization.load_pem_private_key(generate_ed25519_pem(), password=None)
    attacks = {
        "alg none": f"{b64(json.dumps({'alg': 'none', 'kid': '2026-01-01'}).encode())}."
        f"{b64(json.dumps(claims).encode())}.",
        "hs256 with the public key": hs256(public_pem),
        "expired": signed(claims | {"exp": int(time.time()) - 60, "iat": int(time.time()) - 960}),
        "wrong audience": signed(claims | {"aud": "billing"}),
        "wrong issuer": signed(claims | {"iss": "someone"}),
        "unknown kid": signed(claims, kid="2099-01-01"),
        "foreign key": signed(claims, signer=other_key),
        "tampered payload": f"{head}.{b64(json.dumps(claims | {'sub': 'x'}).encode())}.{signature}",
    }
    assert client.get("/api/v1/auth/me", headers=bearer(good)).status_code == 200
    for name, token in attacks.items():
        response = client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.json()["type"] == "urn:messaging:problem:invalid-token", name
    assert client.get("/api/v1/auth/me").json()["type"] == "urn:messaging:problem:unauthorized"


def test_two_keys_live_during_rotation(make_settings: Any, keys_dir: Path, register: Any) -> None:
    # ES256 works as well as EdDSA: the new key is a P-256 one.
    new_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (keys_dir / "2026-06-01.pem").write_bytes(new_key)
    # Step 1: the new key is published but the old one still signs.
    with TestClient(create_app(make_settings(active_key_id="2026-01-01"))) as old_client:
        old_token = register(old_client)["tokens"]["access_token"]
        kids = {key["kid"] for key in old_client.get("/.well-known/jwks.json").json()["keys"]}
        assert kids == {"2026-01-01", "2026-06-01"}
    # Step 2: the new key signs; tokens signed by the old one still verify.
    with TestClient(create_app(make_settings())) as new_client:
        new_token = register(new_client)["tokens"]["access_token"]
        assert parts(new_token)[0] == {"alg": "ES256", "kid": "2026-06-01", "typ": "JWT"}
        for token in (old_token, new_token):
            assert new_client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
        jwks = new_client.get("/.well-known/jwks.json").json()["keys"]
        assert all("d" not in key for key in jwks), "private material must never be published"


def test_the_operators_secret_layout_is_read(tmp_path: Path) -> None:
    """A Secret with `private.pem` (P-256) and a `kid` file beside it."""
    from auth_service.core.keys import KeyRing

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "private.pem").write_bytes(pem)
    (tmp_path / "kid").write_text("a1b2c3d4\n")
    ring = KeyRing(str(tmp_path))
    assert ring.signing_key().kid == "a1b2c3d4"
    assert ring.signing_key().algorithm == "ES256"
    assert [key["kid"] for key in ring.jwks()["keys"]] == ["a1b2c3d4"]
