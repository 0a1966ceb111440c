"""Erasure in media: a real user.deleted on the exchange removes the user's attachments from
PostgreSQL and their originals and thumbnails from MinIO (listed in the bucket), and their
access to others' attachments; user.erased comes back, again for a retry. The export lists
their attachments with presigned URLs that really download the bytes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from media_service import crud
from media_service.core.upload import ReceivedFile
from media_service.memberships import members_of
from messaging_kit.problems import Problem
from messaging_testing.erasure import erasure_rig, leftovers
from messaging_testing.infra import require_rabbitmq, wait_for

pytestmark = pytest.mark.infra


def upload(media, owner: uuid.UUID, data: bytes, **params) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{media.url}/api/v1/media/upload",
        files={"file": ("cat.png", data, "image/png")},
        params=params,
        headers=media.headers(owner),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def thumbnail_ready(media, item: dict, owner: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{media.url}/api/v1/media/{item['id']}", headers=media.headers(owner))
    return bool(response.json()["thumbnail_status"] == "ready")


def test_user_deleted_removes_rows_originals_and_thumbnails(
    make_media: Callable, make_png: Callable
) -> None:
    with erasure_rig(require_rabbitmq()) as rig:
        media = make_media(events_exchange=rig.exchange)
        wait_for(media.app.state.members.connected.is_set)
        a, b = uuid.uuid4(), uuid.uuid4()
        mine = upload(media, a, make_png(), participant_id=[str(b)])
        also_mine = upload(media, a, make_png(40, 40))
        theirs = upload(media, b, make_png(), participant_id=[str(a)])
        for item, owner in ((mine, a), (also_mine, a), (theirs, b)):
            wait_for(lambda i=item, o=owner: thumbnail_ready(media, i, o), timeout=30)
        keys = media.stored_keys()
        assert sum(mine["id"] in key for key in keys) == 2  # original and thumbnail

        erasure_id = rig.delete_user(str(a))
        rig.confirmed(erasure_id, "media")

        left = media.stored_keys()
        assert not [key for key in left if mine["id"] in key or also_mine["id"] in key]
        assert sum(theirs["id"] in key for key in left) == 2  # B's stay
        assert leftovers(media.settings.database_url, str(a)) == {}
        response = httpx.get(f"{media.url}/api/v1/media/{theirs['id']}", headers=media.headers(b))
        assert response.status_code == 200
        assert response.json()["participant_ids"] == []

        rig.delete_user(str(a), erasure_id)  # auth's retry
        rig.confirmed(erasure_id, "media", count=2)


def test_export_lists_attachments_with_working_presigned_urls(media, make_png: Callable) -> None:  # type: ignore[no-untyped-def]
    owner = uuid.uuid4()
    data = make_png()
    item = upload(media, owner, data)
    wait_for(lambda: thumbnail_ready(media, item, owner), timeout=30)
    response = httpx.get(f"{media.url}/api/v1/media/export", headers=media.headers(owner))
    assert response.status_code == 200, response.text
    (exported,) = response.json()["attachments"]
    assert exported["id"] == item["id"]
    assert exported["size_bytes"] == len(data)
    assert httpx.get(exported["url"]).content == data
    assert httpx.get(exported["thumbnail_url"]).content[:4] == b"RIFF"  # webp
    stranger = httpx.get(f"{media.url}/api/v1/media/export", headers=media.headers(uuid.uuid4()))
    assert stranger.json()["attachments"] == []


def test_after_the_erasure_no_upload_share_or_member_list_names_the_user_again(
    make_media: Callable, make_png: Callable
) -> None:
    """Sharing with the erased user is refused (404 user-not-found; the uploaded blob is
    removed), so is their own upload that was in flight (its token checked before the
    revocation arrived: crud called directly); late group events naming them leave them out."""
    with erasure_rig(require_rabbitmq()) as rig:
        media = make_media(events_exchange=rig.exchange)
        wait_for(media.app.state.members.connected.is_set)
        a, b = uuid.uuid4(), uuid.uuid4()
        theirs = upload(media, b, make_png())
        wait_for(lambda: thumbnail_ready(media, theirs, b), timeout=30)
        erasure_id = rig.delete_user(str(a))
        rig.confirmed(erasure_id, "media")
        keys = media.stored_keys()

        shared = httpx.post(
            f"{media.url}/api/v1/media/upload",
            files={"file": ("cat.png", make_png(), "image/png")},
            params={"participant_id": [str(a)]},
            headers=media.headers(b),
            timeout=30,
        )
        reshared = httpx.put(
            f"{media.url}/api/v1/media/{theirs['id']}/participants",
            json={"participant_ids": [str(a)]},
            headers=media.headers(b),
        )
        outcomes = {
            name: (response.status_code, response.json().get("type", "").split(":")[-1])
            for name, response in (("upload", shared), ("participants", reshared))
        }
        received = ReceivedFile(uuid.uuid4(), "cat.png", "image/png", 3, "0" * 64, 1, 1)
        with media.app.state.db.sessions() as session:
            try:
                crud.create_attachment(
                    session, received, a, conversation_id=None, group_id=None, participant_ids=[]
                )
                outcomes["their upload"] = (201, "stored")
            except Problem as refused:
                outcomes["their upload"] = (refused.status, refused.slug)
        assert outcomes == {
            name: (404, "user-not-found") for name in ("upload", "participants", "their upload")
        }
        assert media.stored_keys() == keys  # the refused upload's blob is gone

        group, members = uuid.uuid4(), [str(a), str(b)]
        for kind in ("group.created", "group.member.added"):
            data = {"group_id": str(group), "user_id": str(a), "member_ids": members}
            media.publish(kind, {**data, "recipient_ids": members})
        # Not a retry of the erasure as the barrier (it would erase again what slipped in):
        # the consumer handles its queue in order, so once this is in, both are done.
        marker = uuid.uuid4()
        media.publish("group.created", {"group_id": str(marker), "member_ids": [str(b)]})

        def known(context: uuid.UUID) -> set[uuid.UUID] | None:
            with media.app.state.db.sessions() as session:
                return members_of(session, context)

        wait_for(lambda: known(marker) is not None)
        assert known(group) == {b}
        assert leftovers(media.settings.database_url, str(a)) == {}
