"""`messaging-media cleanup-orphans` against real MinIO and PostgreSQL: blobs without rows
and rows without blobs go, everything else stays, and young things are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
import pytest
from media_service.cleanup import cleanup_orphans
from messaging_testing.infra import wait_for

pytestmark = pytest.mark.infra


def upload(media, make_png, owner: uuid.UUID) -> str:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": ("a.png", make_png())},
        headers=media.headers(owner),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    media_id: str = response.json()["id"]
    return media_id


def thumbnail_ready(media, media_id: str, owner: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{media.url}/api/v1/media/{media_id}", headers=media.headers(owner))
    return bool(response.json()["thumbnail_status"] == "ready")


def cli_env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    names = ("database_url", "amqp_url", "jwks_url", "s3_endpoint_url", "s3_access_key")
    env = {name.upper(): str(getattr(settings, name)) for name in names}
    env.update(S3_SECRET_KEY=settings.s3_secret_key, S3_BUCKET=settings.s3_bucket)
    return {**os.environ, **env}


def test_orphans_are_cleaned_and_the_rest_stays(media, make_png) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    kept, lost = upload(media, make_png, owner), upload(media, make_png, owner)
    for media_id in (kept, lost):
        wait_for(lambda media_id=media_id: thumbnail_ready(media, media_id, owner), timeout=30)
    store = media.store
    store.remove(f"originals/{lost}")  # a row without its blob
    stray = uuid.uuid4()
    store.put_bytes(f"originals/{stray}", b"no row", "application/pdf")  # blobs without rows
    store.put_bytes(f"thumbnails/{stray}.webp", b"no row", "image/webp")
    store.put_bytes("originals/not-an-id", b"junk", "application/pdf")

    young = cleanup_orphans(media.app.state.db.sessions, store, grace=timedelta(hours=1))
    assert (young.blobs_removed, young.rows_removed) == ([], [])

    result = subprocess.run(
        [sys.executable, "-m", "media_service", "cleanup-orphans", "--grace-seconds", "0"],
        env=cli_env(media.settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"row without blob: {lost}" in result.stdout
    assert "removed 3 blobs without rows and 1 rows without blobs" in result.stdout
    assert media.stored_keys() == [f"originals/{kept}", f"thumbnails/{kept}.webp"]
    get = httpx.get(f"{media.url}/api/v1/media/{lost}", headers=media.headers(owner))
    assert get.status_code == 404
    again = cleanup_orphans(media.app.state.db.sessions, store, grace=timedelta(0))
    assert (again.blobs_removed, again.rows_removed) == ([], [])
