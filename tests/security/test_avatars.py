"""An avatar names only media its user uploaded: tried as carol would, with alice's media id
and with an id that does not exist, over HTTP against the real users and media servers."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from security.stack import Platform

pytestmark = pytest.mark.infra


def test_an_avatar_may_only_point_at_your_own_media(platform: Platform) -> None:
    alice, carol = platform.register(), platform.register()
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(picture, format="PNG")
    upload = platform.http.post(
        platform.url("media", "/api/v1/media/upload"),
        files={"file": ("me.png", picture.getvalue(), "image/png")},
        headers=alice.headers,
    )
    assert upload.status_code == 201, upload.text
    media_id = upload.json()["id"]
    me = platform.url("users", "/api/v1/users/me")

    stolen = platform.http.patch(me, json={"avatar_media_id": media_id}, headers=carol.headers)
    assert stolen.status_code == 403, stolen.text
    assert stolen.headers["content-type"].startswith("application/problem+json")
    assert stolen.json()["type"] == "urn:messaging:problem:avatar-not-owned"
    # An id that exists nowhere gets the very same answer: the check reveals no ids.
    made_up = platform.http.patch(
        me, json={"avatar_media_id": str(uuid.uuid4())}, headers=carol.headers
    )
    assert made_up.status_code == 403
    assert {**made_up.json(), "request_id": ""} == {**stolen.json(), "request_id": ""}
    assert platform.http.get(me, headers=carol.headers).json()["avatar_media_id"] is None

    own = platform.http.patch(me, json={"avatar_media_id": media_id}, headers=alice.headers)
    assert own.status_code == 200, own.text
    assert own.json()["avatar_media_id"] == media_id
