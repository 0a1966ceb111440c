"""Device public keys as plain functions over a session: publish, list, withdraw.

A sender wraps each message key for every device of every reader, and the wrapped value
must fit the messages service's 4096-character `keys` entry, so a user has at most
MAX_DEVICES_PER_USER devices (about 100 characters each inside the bundle)."""

from __future__ import annotations

import base64
import binascii
import uuid

from messaging_kit.problems import Problem
from messaging_kit.tombstones import refuse_erased
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from users_service.models import EVENTS, DeviceKey

MAX_DEVICES_PER_USER = 20
# Raw public key sizes: P-256 uncompressed point (0x04 || X || Y), X25519 u-coordinate.
RAW_KEY_BYTES = {"ECDH-P256": 65, "X25519": 32}


def check_public_key(algorithm: str, public_key: str) -> None:
    """Refuse a key that is not the raw public key of its algorithm (422 bad-public-key)."""
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError):
        raise Problem(422, "bad-public-key", "Bad public key", "public_key is not base64") from None
    expected = RAW_KEY_BYTES[algorithm]
    if len(raw) != expected or (algorithm == "ECDH-P256" and raw[0] != 0x04):
        raise Problem(
            422,
            "bad-public-key",
            "Bad public key",
            f"{algorithm} public keys are {expected} raw bytes"
            + (" (an uncompressed point, 0x04 first)" if algorithm == "ECDH-P256" else ""),
        )


def publish_device_key(
    session: Session, user_id: uuid.UUID, device_id: uuid.UUID, algorithm: str, public_key: str
) -> tuple[DeviceKey, bool]:
    """Store or replace a device's key; True when the device is new."""
    check_public_key(algorithm, public_key)
    refuse_erased(session, EVENTS, [user_id], "device key")  # a request in flight at erasure
    # Lock the user's rows so two new devices at once cannot both pass the count.
    existing = session.scalars(
        select(DeviceKey.device_id).where(DeviceKey.user_id == user_id).with_for_update()
    ).all()
    created = device_id not in existing
    if created and len(existing) >= MAX_DEVICES_PER_USER:
        raise Problem(
            409,
            "too-many-devices",
            "Too many devices",
            f"at most {MAX_DEVICES_PER_USER} devices per user; remove one first",
        )
    session.execute(
        insert(DeviceKey)
        .values(user_id=user_id, device_id=device_id, algorithm=algorithm, public_key=public_key)
        .on_conflict_do_update(
            index_elements=[DeviceKey.user_id, DeviceKey.device_id],
            set_={"algorithm": algorithm, "public_key": public_key, "updated_at": func.now()},
        )
    )
    session.commit()
    key = session.get(DeviceKey, (user_id, device_id), populate_existing=True)
    assert key is not None
    return key, created


def device_keys(session: Session, user_id: uuid.UUID) -> list[DeviceKey]:
    return list(
        session.scalars(
            select(DeviceKey).where(DeviceKey.user_id == user_id).order_by(DeviceKey.created_at)
        )
    )


def withdraw_device_key(session: Session, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
    result = session.execute(
        delete(DeviceKey).where(DeviceKey.user_id == user_id, DeviceKey.device_id == device_id)
    )
    session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise Problem(404, "device-not-found", "No such device")
