"""Issue 8's user story, end to end through the gateway only (HTTP and the websocket at /ws),
plus the SMTP sink's mail files and, for the no-plaintext check, PostgreSQL.

Three users register, verify their email address from the link in their welcome mail, log in,
publish X25519 public keys in their
profiles, find each other by search, invite and accept; they exchange end-to-end encrypted
messages (the test is the client: it encrypts, the servers only see ciphertext) with a PNG
attachment whose thumbnail is fetched, receive them live over the websocket, catch up on a
backlog after being offline, see read receipts, read the history, chat in a group of three,
block, and log out.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from e2e.kit import (
    PASSWORD,
    RUN,
    User,
    conversation_id,
    eventually,
    fetch_presigned,
    mails_to,
    pg_connect,
)

pytestmark = [pytest.mark.infra, pytest.mark.cluster]

# A unique marker in every plaintext: PostgreSQL must never hold it.
SECRET = f"e2e-plaintext-{RUN}"


def send_direct(sender: User, recipient: User, text: str, **extra: object) -> dict:
    plaintext = json.dumps({"text": f"{SECRET} {text}", **extra}).encode()
    sealed = sender.seal(plaintext, {recipient.id: sender.published_key_of(recipient.id)})
    body = {"recipient_id": str(recipient.id), "idempotency_key": uuid.uuid4().hex, **sealed.body()}
    sent = sender.request("POST", "/api/v1/messages", expect=201, json=body).json()
    assert sent["ciphertext"] == sealed.ciphertext
    return sent


def opened(reader: User, data: dict, sender: User) -> dict:
    return json.loads(reader.open(data, reader.published_key_of(sender.id)))


def png_bytes() -> bytes:
    image = Image.new("RGB", (640, 480))
    for x in range(0, 640, 8):
        for y in range(0, 480, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x * y) % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# The link auth puts in user.registered (PUBLIC_BASE_URL + /verify-email?token=...).
VERIFY_LINK = re.compile(r"https?://\S+/verify-email\?token=[A-Za-z0-9_%-]+")


@pytest.mark.local_stores
def test_users_verify_their_email_from_the_welcome_mail(
    alice: User, bob: User, carol: User, maildir
) -> None:
    """notifications mails the welcome (from auth's user.registered) to the SMTP sink with the
    verification link; the user clicks it (the web client posts its token to
    /api/v1/auth/verify-email) and /me then shows the address verified."""
    for user in (alice, bob, carol):
        mail = eventually(
            lambda u=user: mails_to(maildir, u.email), f"welcome mail to {user.email}"
        )
        assert len(mail) == 1, f"{len(mail)} welcome mails to {user.email}"
        assert mail[0]["Subject"] == f"Welcome to Messaging, {user.display_name}"
        body = mail[0].get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert user.username in text
        me = user.get("/api/v1/auth/me")
        assert (me["id"], me["email"]) == (str(user.id), user.email)
        assert me["email_verified"] is False

        links = VERIFY_LINK.findall(text)
        assert len(links) == 1, f"one verification link in the welcome mail to {user.email}"
        token = parse_qs(urlsplit(links[0]).query)["token"][0]
        verified = user.request("POST", "/api/v1/auth/verify-email", json={"token": token})
        assert verified.json()["email_verified"] is True
        assert user.get("/api/v1/auth/me")["email_verified"] is True


def test_users_find_each_other_and_their_public_keys(alice: User, bob: User) -> None:
    found = alice.get("/api/v1/users/search", params={"q": f"e2e_{RUN}_b"})
    assert [item["user_id"] for item in found["items"]] == [str(bob.id)]
    by_name = bob.get("/api/v1/users/search", params={"q": f"E2E Alice {RUN}"})
    assert [item["username"] for item in by_name["items"]] == [alice.username]
    assert alice.published_key_of(bob.id) == bob.public_key
    assert bob.published_key_of(alice.id) == alice.public_key


@pytest.mark.local_stores
def test_invite_and_accept_makes_them_contacts(alice: User, bob: User, maildir) -> None:
    invited = alice.request(
        "POST",
        "/api/v1/invitations",
        expect=201,
        json={"invitee_id": str(bob.id), "message": "let us talk privately"},
    ).json()
    assert invited["status"] == "pending"
    incoming = bob.get("/api/v1/invitations", params={"direction": "incoming"})
    assert invited["id"] in [i["id"] for i in incoming]
    # Before accepting, alice's address is hidden from bob.
    assert bob.get(f"/api/v1/users/{alice.id}")["email"] is None

    accepted = bob.request("POST", f"/api/v1/invitations/{invited['id']}/accept").json()
    assert accepted["status"] == "accepted"
    assert str(bob.id) in [c["user_id"] for c in alice.get("/api/v1/contacts")]
    assert str(alice.id) in [c["user_id"] for c in bob.get("/api/v1/contacts")]
    assert bob.get(f"/api/v1/users/{alice.id}")["email"] == alice.email

    # notifications mailed bob about the invitation (invitation.created).
    eventually(
        lambda: [m for m in mails_to(maildir, bob.email) if "Welcome" not in m["Subject"]],
        f"invitation mail to {bob.email}",
    )


def test_encrypted_message_with_an_image_arrives_live(alice: User, bob: User, carol: User) -> None:
    image = png_bytes()
    conversation = conversation_id(alice.id, bob.id)
    uploaded = alice.request(
        "POST",
        "/api/v1/media/upload",
        expect=201,
        params={"conversation_id": str(conversation), "participant_id": str(bob.id)},
        files={"file": ("holiday.png", image, "application/octet-stream")},
    ).json()
    assert uploaded["content_type"] == "image/png"  # sniffed from the bytes, not the header
    assert uploaded["sha256"] == hashlib.sha256(image).hexdigest()
    assert (uploaded["width"], uploaded["height"]) == (640, 480)

    with bob.socket() as bob_socket:
        sent = send_direct(alice, bob, "look at this", media_id=uploaded["id"])
        event = bob_socket.next_event("message.created", message_id=sent["id"])
    data = event["data"]
    assert data["conversation_id"] == str(conversation) == sent["conversation_id"]
    assert SECRET not in json.dumps(event)
    message = opened(bob, data, alice)
    assert message["text"] == f"{SECRET} look at this"

    # bob, a participant of the conversation, downloads the original and its thumbnail.
    media = bob.get(f"/api/v1/media/{message['media_id']}")
    original = fetch_presigned(media["url"])
    assert original.status_code == 200, original.text[:300]
    assert original.content == image

    def thumbnail() -> dict | None:
        answer = bob.request("GET", f"/api/v1/media/{media['id']}/thumbnail", expect=None)
        assert answer.status_code in (200, 409), answer.text
        return answer.json() if answer.status_code == 200 else None

    link = eventually(thumbnail, "the thumbnail (media's worker, off the request path)")
    small = fetch_presigned(link["url"])
    assert small.status_code == 200, small.text[:300]
    with Image.open(io.BytesIO(small.content)) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) <= 320
        assert thumb.size[0] / thumb.size[1] == pytest.approx(640 / 480, rel=0.02)

    # Nobody outside the conversation learns that the attachment or the message exists.
    for path in (f"/api/v1/media/{media['id']}", f"/api/v1/media/{media['id']}/thumbnail"):
        assert carol.request("GET", path, expect=None).status_code == 404, path
    assert carol.request("GET", f"/api/v1/messages/{sent['id']}", expect=None).status_code == 404

    # Over HTTP too, only bob's wrapped key comes back to bob.
    again = bob.get(f"/api/v1/messages/{sent['id']}")
    assert opened(bob, again, alice)["media_id"] == uploaded["id"]


def test_read_receipts_reach_the_sender(alice: User, bob: User) -> None:
    sent = send_direct(bob, alice, "did you see it?")
    with bob.socket() as bob_socket:
        read = alice.request("POST", f"/api/v1/messages/{sent['id']}/read").json()
        assert read["read_at"] is not None
        receipt = bob_socket.next_event("message.read", message_id=sent["id"])
    assert receipt["data"]["reader_id"] == str(alice.id)
    assert bob.get(f"/api/v1/messages/{sent['id']}")["read_at"] is not None


def test_offline_user_gets_the_backlog_on_return(alice: User, bob: User) -> None:
    with bob.socket() as bob_socket:
        bob_socket.ping()
        cursor = bob_socket.cursor
    eventually(lambda: not bob.get("/api/v1/relay/status")["online"], "bob offline in presence")
    before = bob.get("/api/v1/relay/status")["pending"]

    texts = [f"while you were away {n}" for n in range(3)]
    sent = [send_direct(alice, bob, text) for text in texts]

    # relay queued them for bob, who has no live connection.
    status = eventually(
        lambda: (s := bob.get("/api/v1/relay/status"))["pending"] >= before + 3 and s,
        "relay queueing 3 messages for offline bob",
    )
    assert status["online"] is False
    pending = bob.get("/api/v1/relay/pending", params={"limit": 500})["items"]
    queued = {entry["message_id"]: entry for entry in pending}
    for message in sent:
        entry = queued[message["id"]]
        assert opened(bob, entry["event"]["data"], alice)["text"].endswith(
            texts[sent.index(message)]
        )

    # back online with the last cursor seen: the backlog first, in order, then live.
    with bob.socket(cursor=cursor) as bob_socket:
        got = [bob_socket.next_event("message.created", sender_id=str(alice.id)) for _ in sent]
    assert [event["data"]["message_id"] for event in got] == [m["id"] for m in sent]
    assert [opened(bob, e["data"], alice)["text"].split(" ", 1)[1] for e in got] == texts

    acked = bob.request(
        "POST", "/api/v1/relay/ack", json={"message_ids": [m["id"] for m in sent]}
    ).json()
    assert acked["removed"] == 3
    left = {e["message_id"] for e in bob.get("/api/v1/relay/pending")["items"]}
    assert not left & {m["id"] for m in sent}


def test_a_group_of_three_chats(alice: User, bob: User, carol: User) -> None:
    group = alice.request(
        "POST",
        "/api/v1/groups",
        expect=201,
        json={"name": f"e2e trio {RUN}", "member_ids": [str(bob.id), str(carol.id)]},
    ).json()
    # Bob accepted alice as a contact and is in; carol never did, so she is invited and
    # joins by accepting (issue 21: nobody is put into a stranger's group).
    assert {m["user_id"] for m in group["members"]} == {str(alice.id), str(bob.id)}
    assert group["invited"] == [str(carol.id)]
    [invitation] = carol.get("/api/v1/groups/invitations")
    assert invitation["group_id"] == group["id"]
    carol.request("POST", f"/api/v1/groups/invitations/{invitation['id']}/accept", expect=200)
    joined = alice.get(f"/api/v1/groups/{group['id']}")
    assert {m["user_id"] for m in joined["members"]} == {str(u.id) for u in (alice, bob, carol)}
    members = (alice, bob, carol)

    def post(sender: User, text: str) -> dict:
        others = {u.id: sender.published_key_of(u.id) for u in members if u is not sender}
        sealed = sender.seal(f"{SECRET} {text}".encode(), others)
        body = {"idempotency_key": uuid.uuid4().hex, **sealed.body()}
        return sender.request(
            "POST", f"/api/v1/groups/{group['id']}/messages", expect=201, json=body
        ).json()

    with alice.socket() as alice_ws, bob.socket() as bob_ws, carol.socket() as carol_ws:
        hello = post(alice, "hello both")
        for reader, ws in ((bob, bob_ws), (carol, carol_ws)):
            event = ws.next_event("group.message.created", message_id=hello["id"])
            assert event["data"]["group_id"] == group["id"]
            assert reader.open(event["data"], alice.public_key) == f"{SECRET} hello both".encode()
        reply = post(carol, "hi from carol")
        for reader, ws in ((alice, alice_ws), (bob, bob_ws)):
            event = ws.next_event("group.message.created", message_id=reply["id"])
            assert (
                reader.open(event["data"], carol.public_key) == f"{SECRET} hi from carol".encode()
            )

    history = bob.get(f"/api/v1/groups/{group['id']}/messages")["items"]
    assert [m["id"] for m in history][:2] == [reply["id"], hello["id"]]
    assert bob.open(history[0], carol.public_key) == f"{SECRET} hi from carol".encode()


def test_conversation_history_over_http(alice: User, bob: User) -> None:
    conversation = str(conversation_id(alice.id, bob.id))
    assert bob.get(f"/api/v1/conversations/with/{alice.id}")["conversation_id"] == conversation
    listed = bob.get("/api/v1/conversations")["items"]
    assert conversation in [c["conversation_id"] for c in listed]
    page = bob.get(f"/api/v1/conversations/{conversation}/messages", params={"limit": 200})
    assert len(page["items"]) >= 5
    texts = [
        opened(bob, m, alice if m["sender_id"] == str(alice.id) else bob) for m in page["items"]
    ]
    assert all(t["text"].startswith(SECRET) for t in texts)


def test_a_blocked_user_cannot_send(alice: User, bob: User, carol: User) -> None:
    before = send_direct(carol, bob, "hello bob, it is carol")
    assert before["recipient_id"] == str(bob.id)
    bob.request("PUT", f"/api/v1/contacts/{carol.id}/block", expect=204)
    assert str(carol.id) in [u["user_id"] for u in bob.get("/api/v1/contacts/blocked")]
    # users hides bob from carol at once...
    assert carol.request("GET", f"/api/v1/users/{bob.id}", expect=None).status_code == 404
    found = carol.get("/api/v1/users/search", params={"q": bob.username})["items"]
    assert found == []

    # ...and messages refuses carol's sends once it has applied users' contact.blocked event.
    def refused() -> dict | None:
        plaintext = json.dumps({"text": f"{SECRET} let me in"}).encode()
        sealed = carol.seal(plaintext, {bob.id: bob.public_key})
        body = {"recipient_id": str(bob.id), "idempotency_key": uuid.uuid4().hex}
        answer = carol.request("POST", "/api/v1/messages", expect=None, json=body | sealed.body())
        assert answer.status_code in (201, 403), answer.text
        return answer.json() if answer.status_code == 403 else None

    problem = eventually(refused, "messages refusing carol's send to bob who blocked her")
    assert problem["type"] == "urn:messaging:problem:blocked"
    # alice, not blocked, still reaches bob.
    send_direct(alice, bob, "still here")


@pytest.mark.local_stores
def test_postgres_holds_no_plaintext(alice: User, bob: User) -> None:
    """After the messages above, no table of the messages or groups databases (messages,
    outbox, anything) holds a plaintext marker, in text or in bytes."""
    send_direct(alice, bob, "one more, for the database")
    marker = SECRET.encode()

    def rows_holding(database: str, needle: bytes) -> list[str]:
        """Every row of every table, as PostgreSQL's text (bytea as hex), holding needle."""
        found = []
        with pg_connect(database) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            tables = [row[0] for row in cursor.fetchall()]
            assert tables, f"{database} has no tables"
            for table in tables:
                cursor.execute(f'SELECT t::text FROM "{table}" AS t')  # noqa: S608
                found += [
                    f"{table}: {row}"
                    for (row,) in cursor.fetchall()
                    if needle.decode() in row or needle.hex() in row
                ]
        return found

    # The scan sees what is there: this run's display names are in users' profiles.
    assert rows_holding("users", RUN.encode())
    for database in ("messages", "groups", "media", "notifications"):
        hits = rows_holding(database, marker)
        assert not hits, f"plaintext in {database}: {hits[:1]}"
    with pg_connect("messages") as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE position(%s in ciphertext) > 0)"
            " FROM messages WHERE sender_id = %s",
            (marker, str(alice.id)),
        )
        stored, plain = cursor.fetchone()
        assert stored >= 5
        assert plain == 0


def test_logout_revokes_the_refresh_and_access_tokens(gateway: httpx.Client, carol: User) -> None:
    login = gateway.post("/api/v1/auth/login", json={"login": carol.username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    out = gateway.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204, out.text
    refused = gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401, refused.text
    # The access token of that session ends too (its `sid` is revoked on every service within
    # a second), not only at its expiry.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    deadline = time.monotonic() + 2
    while (me := gateway.get("/api/v1/auth/me", headers=bearer)).status_code == 200:
        assert time.monotonic() < deadline, "the access token still works 2 s after logout"
        time.sleep(0.1)
    assert me.status_code == 401, me.text
    # The other login (the fixture's) is a different token family: still good.
    other = gateway.post("/api/v1/auth/refresh", json={"refresh_token": carol.refresh_token})
    assert other.status_code == 200, other.text
