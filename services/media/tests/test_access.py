"""Who may download, share and delete: the owner and the participants named at upload get a
short-lived presigned URL; strangers learn nothing; only the owner deletes (blob and row)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.infra


def upload_png(media, make_png, owner: uuid.UUID, **params) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": ("cat.png", make_png(), "image/png")},
        params=params,
        headers=media.headers(owner),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def get(media, media_id: str, user: uuid.UUID, suffix: str = "") -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{media.url}/api/v1/media/{media_id}{suffix}", headers=media.headers(user))


def test_owner_and_participants_download_strangers_do_not(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner, friend, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conversation = uuid.uuid4()
    item = upload_png(
        media,
        make_png,
        owner,
        conversation_id=str(conversation),
        participant_id=[str(friend), str(owner)],
    )
    assert item["participant_ids"] == [str(friend)]
    assert item["conversation_id"] == str(conversation)
    for user in (owner, friend):
        response = get(media, item["id"], user)
        assert response.status_code == 200
        blob = httpx.get(response.json()["url"])
        assert blob.status_code == 200
        assert blob.content == make_png()
        assert blob.headers["content-type"] == "image/png"
        assert blob.headers["content-disposition"].startswith("attachment;")
    refused = get(media, item["id"], stranger)
    assert refused.status_code == 404
    assert "url" not in refused.json()
    # An unknown id and a forbidden one look the same.
    assert get(media, str(uuid.uuid4()), stranger).json()["type"] == refused.json()["type"]
    # The bucket itself is not public.
    bare = f"{media.settings.s3_endpoint_url}/{media.store.bucket}/originals/{item['id']}"
    assert httpx.get(bare).status_code == 403


def test_presigned_urls_expire(make_media, make_png) -> None:  # type: ignore[no-untyped-def]
    media = make_media(presign_seconds=1)
    owner = uuid.uuid4()
    item = upload_png(media, make_png, owner)
    url = get(media, item["id"], owner).json()["url"]
    time.sleep(2.5)
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert b"expired" in expired.content


def test_only_the_owner_deletes_and_the_blob_goes_too(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner, friend, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    item = upload_png(media, make_png, owner, participant_id=[str(friend)])
    url = f"{media.url}/api/v1/media/{item['id']}"
    assert httpx.delete(url, headers=media.headers(stranger)).status_code == 404
    assert httpx.delete(url, headers=media.headers(friend)).status_code == 403
    assert media.stored_keys()  # still there
    assert httpx.delete(url, headers=media.headers(owner)).status_code == 204
    assert get(media, item["id"], owner).status_code == 404
    assert [key for key in media.stored_keys() if item["id"] in key] == []


def test_the_owner_can_change_who_may_download(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner, old, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    item = upload_png(media, make_png, owner, group_id=str(uuid.uuid4()), participant_id=[str(old)])
    url = f"{media.url}/api/v1/media/{item['id']}/participants"
    body = {"participant_ids": [str(new)]}
    assert httpx.put(url, json=body, headers=media.headers(old)).status_code == 403
    response = httpx.put(url, json=body, headers=media.headers(owner))
    assert response.status_code == 200
    assert response.json()["participant_ids"] == [str(new)]
    assert get(media, item["id"], old).status_code == 404
    assert get(media, item["id"], new).status_code == 200


def test_a_conversation_and_a_group_at_once_is_refused(media, make_png) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": ("cat.png", make_png(), "image/png")},
        params={"conversation_id": str(uuid.uuid4()), "group_id": str(uuid.uuid4())},
        headers=media.headers(uuid.uuid4()),
    )
    assert response.status_code == 422
    assert media.stored_keys() == []


def test_a_store_down_at_start_is_reported_not_fatal(make_settings, drop_queues) -> None:  # type: ignore[no-untyped-def]
    from media_service.main import create_app
    from messaging_testing.infra import LiveServer, free_port

    settings = make_settings(s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    try:
        with LiveServer(create_app(settings)) as server:
            assert httpx.get(f"{server.url}/health").status_code == 200
            ready = httpx.get(f"{server.url}/ready", timeout=10)
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["database"] == "ok"
            assert checks["object_store"].startswith("failing")
    finally:
        drop_queues(settings)
