"""Uploads through a real media server into MinIO: sniffed types, the allow-list, the size
limit counted while streaming, bombs refused from their header, checksums recorded."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

pytestmark = pytest.mark.infra


def upload(media, user: uuid.UUID, files, **params):  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{media.url}/api/v1/media/upload",
        files=files,
        params=params,
        headers=media.headers(user),
        timeout=60,
    )


def test_a_png_named_txt_is_stored_as_a_png(media, make_png: Callable[..., bytes]) -> None:  # type: ignore[no-untyped-def]
    owner, data = uuid.uuid4(), make_png(200, 100)
    response = upload(media, owner, {"file": ("notes.txt", data, "text/plain")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "image/png"
    assert body["filename"] == "notes.txt"
    assert body["size_bytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["width"], body["height"]) == (200, 100)
    assert body["owner_id"] == str(owner)
    assert media.stored_keys() == [f"originals/{body['id']}"]


def test_an_executable_named_png_is_refused(media) -> None:  # type: ignore[no-untyped-def]
    with open("/bin/true", "rb") as handle:
        program = handle.read()
    response = upload(media, uuid.uuid4(), {"file": ("cat.png", program, "image/png")})
    assert response.status_code == 415
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:messaging:problem:type-not-allowed"
    assert problem["detected_type"] == "application/x-executable"
    assert media.stored_keys() == []  # refused before anything was stored


def test_unknown_bytes_are_refused(media) -> None:  # type: ignore[no-untyped-def]
    response = upload(media, uuid.uuid4(), {"file": ("a.pdf", b"hello, plain text", "a/pdf")})
    assert response.status_code == 415
    assert response.json()["detected_type"] is None


def chunks(head: bytes, total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A multipart body produced piece by piece (sent chunked, with no Content-Length)."""
    boundary = "b0undary"
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + head
    sent = len(head)
    while sent < total:
        piece = os.urandom(min(size, total - sent))
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def post_chunked(media, user: uuid.UUID, body: Iterator[bytes]) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{media.url}/api/v1/media/upload",
        content=body,
        headers={**media.headers(user), "Content-Type": "multipart/form-data; boundary=b0undary"},
        timeout=60,
    )


def test_the_size_limit_is_enforced_while_streaming(media) -> None:  # type: ignore[no-untyped-def]
    limit = media.settings.max_upload_bytes
    # Over the limit by one part and a bit: the first 5 MiB part went up before the limit
    # was hit, so MinIO's multipart upload must be aborted, leaving no object.
    response = post_chunked(media, uuid.uuid4(), chunks(b"%PDF-1.7\n", limit + 3 * 1024 * 1024))
    assert response.status_code == 413, response.text
    assert response.json()["max_bytes"] == limit
    assert media.stored_keys() == []
    uploads = media.store.client._list_multipart_uploads(media.store.bucket)
    assert list(uploads.uploads) == []


def test_other_form_fields_count_towards_the_limit(media) -> None:  # type: ignore[no-untyped-def]
    def body() -> Iterator[bytes]:
        yield b'--b0undary\r\nContent-Disposition: form-data; name="padding"\r\n\r\n'
        for _ in range(media.settings.max_upload_bytes // (1024 * 1024) + 1):
            yield bytes(1024 * 1024)
        yield b"\r\n--b0undary--\r\n"

    response = post_chunked(media, uuid.uuid4(), body())
    assert response.status_code == 413
    assert media.stored_keys() == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(media) -> None:  # type: ignore[no-untyped-def]
    too_big = b"%PDF-1.7\n" + bytes(media.settings.max_upload_bytes + 128 * 1024)
    response = upload(media, uuid.uuid4(), {"file": ("big.pdf", too_big, "application/pdf")})
    assert response.status_code == 413
    assert media.stored_keys() == []


def test_a_large_file_streams_through_in_parts(media) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    parts = list(chunks(b"%PDF-1.7\n", 7 * 1024 * 1024))
    data = parts[0].split(b"\r\n\r\n", 1)[1] + b"".join(parts[1:-1])
    response = post_chunked(media, owner, iter(parts))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["content_type"], body["size_bytes"]) == ("application/pdf", len(data))
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    url = httpx.get(f"{media.url}/api/v1/media/{body['id']}", headers=media.headers(owner))
    download = httpx.get(url.json()["url"], timeout=30)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == body["sha256"]


def test_a_decompression_bomb_is_refused_from_its_header(  # type: ignore[no-untyped-def]
    media, make_bomb: Callable[..., bytes]
) -> None:
    bomb = make_bomb(20_000)
    assert len(bomb) < 100_000  # small on the wire, 400 Mpx decoded
    response = upload(media, uuid.uuid4(), {"file": ("bomb.png", bomb, "image/png")})
    assert response.status_code == 422
    assert response.json()["type"] == "urn:messaging:problem:image-too-large"
    assert media.stored_keys() == []


def test_uploads_need_a_token_and_a_file_part(media, make_png) -> None:  # type: ignore[no-untyped-def]
    anonymous = httpx.post(
        f"{media.url}/api/v1/media/upload", files={"file": ("a.png", make_png())}
    )
    assert anonymous.status_code == 401
    no_file = upload(media, uuid.uuid4(), {"other": ("a.png", make_png())})
    assert no_file.status_code == 422
    assert no_file.json()["type"] == "urn:messaging:problem:no-file"
    not_multipart = httpx.post(
        f"{media.url}/api/v1/media/upload",
        content=make_png(),
        headers={**media.headers(uuid.uuid4()), "Content-Type": "image/png"},
    )
    assert not_multipart.status_code == 415
    assert media.stored_keys() == []


def test_an_upload_never_holds_the_whole_file_in_memory(make_media) -> None:  # type: ignore[no-untyped-def]
    """The server runs in this process, so tracemalloc sees every byte it allocates."""
    import tracemalloc

    media = make_media(max_upload_bytes=64 * 1024 * 1024)
    total = 48 * 1024 * 1024
    tracemalloc.start()
    try:
        response = post_chunked(media, uuid.uuid4(), chunks(b"%PDF-1.7\n", total))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == total
    # A few 5 MiB parts' worth (the one going out, the next one filling, the S3 client's
    # copy), about 19 MiB whatever the size of the file.
    assert peak < total / 2, f"peak {peak / 2**20:.1f} MiB"
