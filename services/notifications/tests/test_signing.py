"""Webhook signatures (no servers): bound to the body and the timestamp, refused when old."""

from __future__ import annotations

from notifications_service.core.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signed_headers,
    verify,
)

SECRET = "s3cret"
BODY = b'{"id":"1"}'


def test_a_fresh_signature_verifies() -> None:
    headers = signed_headers(SECRET, BODY, now=1_000_000)
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now=1_000_010)


def test_other_body_secret_or_timestamp_fails() -> None:
    headers = signed_headers(SECRET, BODY, now=1_000_000)
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert not verify(SECRET, timestamp, signature, BODY + b" ", now=1_000_000)
    assert not verify("other", timestamp, signature, BODY, now=1_000_000)
    assert not verify(SECRET, "1000001", signature, BODY, now=1_000_000)
    assert not verify(SECRET, "not a number", signature, BODY, now=1_000_000)


def test_a_replayed_old_request_is_refused() -> None:
    headers = signed_headers(SECRET, BODY, now=1_000_000)
    later = 1_000_000 + 301
    assert not verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now=later)
