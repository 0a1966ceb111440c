"""Device public keys: publish (create or replace), list own and others', withdraw, limits."""

from __future__ import annotations

import base64
import uuid

import pytest
from messaging_kit.problems import Problem
from messaging_testing.infra import bearer
from users_service import device_keys

pytestmark = pytest.mark.infra

P256_KEY = base64.b64encode(b"\x04" + bytes(range(64))).decode()
X25519_KEY = base64.b64encode(bytes(range(32))).decode()


def publish(stack, token: str, device: uuid.UUID, algorithm: str, key: str):  # type: ignore[no-untyped-def]
    return stack.users.put(
        f"/api/v1/users/me/devices/{device}",
        headers=bearer(token),
        json={"algorithm": algorithm, "public_key": key},
    )


def test_public_key_checks_need_the_raw_key_of_the_algorithm() -> None:
    device_keys.check_public_key("ECDH-P256", P256_KEY)
    device_keys.check_public_key("X25519", X25519_KEY)
    for algorithm, key in [
        ("ECDH-P256", X25519_KEY),  # wrong size
        ("ECDH-P256", base64.b64encode(b"\x02" + bytes(64)).decode()),  # not uncompressed
        ("X25519", "not base64!"),
    ]:
        with pytest.raises(Problem) as refused:
            device_keys.check_public_key(algorithm, key)
        assert refused.value.slug == "bad-public-key"


def test_devices_are_published_listed_replaced_and_withdrawn(stack) -> None:  # type: ignore[no-untyped-def]
    token, me = stack.user()
    other_token, _ = stack.user()
    laptop, phone = uuid.uuid4(), uuid.uuid4()
    url = f"/api/v1/users/me/devices/{laptop}"

    first = publish(stack, token, laptop, "ECDH-P256", P256_KEY)
    assert first.status_code == 201, first.text
    assert first.json()["device_id"] == str(laptop)
    replaced = publish(stack, token, laptop, "X25519", X25519_KEY)
    assert replaced.status_code == 200, replaced.text
    publish(stack, token, phone, "ECDH-P256", P256_KEY)

    seen_by_other = stack.users.get(
        f"/api/v1/users/{me['user_id']}/devices", headers=bearer(other_token)
    )
    assert seen_by_other.status_code == 200
    assert [(d["device_id"], d["algorithm"]) for d in seen_by_other.json()] == [
        (str(laptop), "X25519"),
        (str(phone), "ECDH-P256"),
    ]
    mine = stack.users.get("/api/v1/users/me/devices", headers=bearer(token)).json()
    assert len(mine) == 2

    assert stack.users.delete(url, headers=bearer(token)).status_code == 204
    again = stack.users.delete(url, headers=bearer(token))
    assert again.status_code == 404
    assert again.json()["type"] == "urn:messaging:problem:device-not-found"
    left = stack.users.get(f"/api/v1/users/{me['user_id']}/devices", headers=bearer(token))
    assert [d["device_id"] for d in left.json()] == [str(phone)]


def test_bad_keys_are_refused_and_the_device_count_is_bounded(stack) -> None:  # type: ignore[no-untyped-def]
    token, _ = stack.user()
    bad = publish(stack, token, uuid.uuid4(), "ECDH-P256", X25519_KEY)
    assert bad.status_code == 422
    assert bad.json()["type"] == "urn:messaging:problem:validation-error"
    assert bad.json()["errors"][0]["field"].startswith("body.")
    unknown = publish(stack, token, uuid.uuid4(), "RSA", X25519_KEY)
    assert unknown.status_code == 422
    for _ in range(device_keys.MAX_DEVICES_PER_USER):
        ok = publish(stack, token, uuid.uuid4(), "X25519", X25519_KEY)
        assert ok.status_code == 201
    over = publish(stack, token, uuid.uuid4(), "X25519", X25519_KEY)
    assert over.status_code == 409
    assert over.json()["type"] == "urn:messaging:problem:too-many-devices"


def test_someone_who_blocked_you_hides_their_devices(stack) -> None:  # type: ignore[no-untyped-def]
    token, me = stack.user()
    other_token, other = stack.user()
    publish(stack, other_token, uuid.uuid4(), "X25519", X25519_KEY)
    blocked = stack.users.put(
        f"/api/v1/contacts/{me['user_id']}/block", headers=bearer(other_token)
    )
    assert blocked.status_code == 204
    hidden = stack.users.get(f"/api/v1/users/{other['user_id']}/devices", headers=bearer(token))
    assert hidden.status_code == 404
    assert stack.users.get("/api/v1/users/me/devices").status_code == 401
