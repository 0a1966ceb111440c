"""The revocation list (no servers): lookups, events, snapshots, and the verifier refusing."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import OKPAlgorithm
from messaging_kit.problems import install_problem_handlers
from messaging_kit.revocations import RevocationList, snapshot_url_from_jwks
from messaging_kit.tokens import Principal, RevokedToken, TokenVerifier, principal_dependency

PRIVATE = ed25519.Ed25519PrivateKey.generate()
PUBLIC = jwt.PyJWK(
    OKPAlgorithm.to_jwk(PRIVATE.public_key(), as_dict=True) | {"kid": "k1", "alg": "EdDSA"}
)


def signed_token(user_id: str) -> str:
    now = time.time()
    payload = {"iss": "i", "aud": "a", "sub": user_id, "iat": now, "exp": now + 60, "jti": "j"}
    return jwt.encode(payload, PRIVATE, algorithm="EdDSA", headers={"kid": "k1"})


def test_suspension_refuses_every_token_and_unsuspension_lifts_it() -> None:
    revocations, user = RevocationList(), str(uuid.uuid4())
    assert revocations.refusal(user, time.time()) is None
    revocations.apply("user.suspended", {"user_id": user, "not_before": 100.0})
    assert revocations.refusal(user, time.time()) == "account suspended or deleted"
    revocations.apply("user.unsuspended", {"user_id": user})
    # Tokens from before the suspension stay revoked; a new login works.
    assert revocations.refusal(user, 99.9) == "token revoked; log in again"
    assert revocations.refusal(user, 100.0) is None


def test_a_cut_off_only_moves_later_and_deletion_is_final() -> None:
    revocations, user, other = RevocationList(), str(uuid.uuid4()), str(uuid.uuid4())
    revocations.apply("user.tokens_revoked", {"user_id": user, "not_before": 200.0})
    revocations.apply("user.tokens_revoked", {"user_id": user, "not_before": 150.0})  # replayed
    assert revocations.not_before[user] == 200.0
    assert revocations.refusal(user, 199.999) is not None
    assert revocations.refusal(user, 200.0) is None
    revocations.apply("user.deleted", {"user_id": other, "erasure_id": str(uuid.uuid4())})
    assert revocations.refusal(other, time.time()) is not None
    revocations.apply("user.deleted", {"erasure_id": "no user id"})  # ignored, not a crash
    assert revocations.refusal(user, 300.0) is None


def test_a_snapshot_replaces_everything_and_marks_the_list_loaded() -> None:
    revocations, old, new = RevocationList(), str(uuid.uuid4()), str(uuid.uuid4())
    revocations.apply("user.suspended", {"user_id": old})
    assert not revocations.loaded.is_set()
    revocations.replace({"suspended": [new], "not_before": {old: 50}})
    assert revocations.loaded.is_set()
    assert revocations.suspended == frozenset({new})
    assert revocations.refusal(old, 49.0) is not None
    assert revocations.refusal(old, 51.0) is None


def test_the_snapshot_lives_beside_the_jwks() -> None:
    assert (
        snapshot_url_from_jwks("http://auth:8001/.well-known/jwks.json?x=1")
        == "http://auth:8001/internal/v1/revocations"
    )


def test_the_verifier_refuses_a_revoked_principal_with_its_own_problem_type() -> None:
    revocations = RevocationList()
    verifier = TokenVerifier({"k1": PUBLIC}.get, issuer="i", audience="a", revocations=revocations)
    user = str(uuid.uuid4())
    token = signed_token(user)
    assert verifier.verify(token).user_id == user
    revocations.apply("user.suspended", {"user_id": user})
    with pytest.raises(RevokedToken):
        verifier.verify(token)

    app = FastAPI()
    install_problem_handlers(app)
    current = principal_dependency(lambda request: verifier)

    @app.get("/who")
    def who(principal: Principal = Depends(current)) -> str:  # noqa: B008
        return principal.user_id

    response = TestClient(app).get("/who", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:messaging:problem:token-revoked"


def test_the_check_is_a_lookup_not_a_cost() -> None:
    """100k revoked users: checking a token costs about what a dict lookup costs."""
    revocations = RevocationList()
    revocations.replace(
        {"suspended": [str(uuid.uuid4()) for _ in range(100_000)], "not_before": {}}
    )
    user, now = str(uuid.uuid4()), time.time()
    started = time.perf_counter()
    for _ in range(100_000):
        revocations.refusal(user, now)
    per_check = (time.perf_counter() - started) / 100_000
    assert per_check < 20e-6, per_check  # generous for a loaded 2-core machine


def test_an_ended_session_refuses_its_tokens_only_until_they_expire_anyway() -> None:
    revocations, user = RevocationList(), str(uuid.uuid4())
    ended, other = str(uuid.uuid4()), str(uuid.uuid4())
    revocations.apply(
        "user.session_revoked",
        {"user_id": user, "session_id": ended, "expires_at": time.time() + 60},
    )
    assert revocations.refusal(user, time.time(), ended) == "session ended; log in again"
    assert revocations.refusal(user, time.time(), other) is None  # another login lives on
    assert revocations.refusal(user, time.time()) is None  # a token without sid: cut-offs only
    # A lapsed entry is dropped at the next change; a snapshot carries the current ones.
    revocations.apply(
        "user.session_revoked",
        {"user_id": user, "session_id": other, "expires_at": time.time() - 1},
    )
    revocations.apply("user.session_revoked", {"user_id": user, "session_id": "x"})
    assert other not in revocations.sessions
    revocations.replace({"suspended": [], "not_before": {}, "sessions": {"s": time.time() + 9}})
    assert revocations.refusal(user, time.time(), "s") is not None
    assert revocations.refusal(user, time.time(), ended) is not None  # kept until it lapses
