"""Thumbnails appear off the request path: media.uploaded goes out through the outbox and the
broker, media's own worker draws the thumbnail into MinIO; refused images say why."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from messaging_testing.infra import wait_for
from PIL import Image

pytestmark = pytest.mark.infra


def upload(media, owner: uuid.UUID, name: str, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": (name, data)},
        headers=media.headers(owner),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def status_of(media, media_id: str, owner: uuid.UUID) -> str:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{media.url}/api/v1/media/{media_id}", headers=media.headers(owner))
    status: str = response.json()["thumbnail_status"]
    return status


def test_a_thumbnail_appears_for_an_image(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    item = upload(media, owner, "wide.png", make_png(640, 320))
    assert item["thumbnail_status"] == "pending"  # the request did not wait for it
    wait_for(lambda: status_of(media, item["id"], owner) == "ready", timeout=30)
    response = httpx.get(
        f"{media.url}/api/v1/media/{item['id']}/thumbnail", headers=media.headers(owner)
    )
    assert response.status_code == 200
    thumb = httpx.get(response.json()["url"])
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "WEBP"
        assert image.size == (64, 32)


def test_an_image_the_worker_refuses_is_marked_not_retried(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    # A PNG whose header is fine but whose pixels are cut off: only decoding finds out.
    broken = make_png(300, 300)[:-40]
    item = upload(media, owner, "broken.png", broken)
    wait_for(lambda: status_of(media, item["id"], owner) == "refused", timeout=30)
    response = httpx.get(
        f"{media.url}/api/v1/media/{item['id']}/thumbnail", headers=media.headers(owner)
    )
    assert response.status_code == 409
    assert "not a decodable image" in response.json()["detail"]


def test_documents_get_no_thumbnail(media) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    item = upload(media, owner, "doc.pdf", b"%PDF-1.7\n" + bytes(1000))
    assert item["thumbnail_status"] == "none"
    response = httpx.get(
        f"{media.url}/api/v1/media/{item['id']}/thumbnail", headers=media.headers(owner)
    )
    assert response.status_code == 409
