"""Erasure in messages: a real user.deleted on the exchange removes every message the user
sent, their conversation entries, hidden marks and blocks; messages peers sent them stay in
the peers' history without the user's wrapped key or read receipt (see erasure.py for why).
Checked in every table of the database; user.erased comes back, also for a retry."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from messages_service.core.config import Settings
from messages_service.crud import conversation_id
from messages_service.main import create_app
from messages_service.models import Block, ConversationEntry, HiddenMessage, Message
from messaging_testing.erasure import DatabaseService, database_service, leftovers
from messaging_testing.infra import wait_for
from sqlalchemy import select, text

pytestmark = pytest.mark.infra
# What stays of an erased user by design: the bare id on their peers' messages to them.
PEERS_COPY = frozenset({("messages", "recipient_id"), ("conversation_entries", "peer_id")})


Messages = DatabaseService


@pytest.fixture
def messages() -> Iterator[Messages]:
    with database_service("messages_service", Settings, create_app) as service:
        yield service


def send(session, sender: uuid.UUID, recipient: uuid.UUID, read: bool = False) -> Message:  # type: ignore[no-untyped-def]
    conversation = conversation_id(sender, recipient)
    message = Message(
        id=uuid.uuid4(),
        conversation_id=conversation,
        sender_id=sender,
        recipient_id=recipient,
        idempotency_key=uuid.uuid4().hex,
        content_hash="0" * 64,
        ciphertext=b"opaque",
        nonce=b"nonce",
        keys={str(sender): "Zm9y", str(recipient): "Zm9y"},
        read_at=datetime.now(UTC) if read else None,
    )
    session.add(message)
    session.flush()
    for user, peer in ((sender, recipient), (recipient, sender)):
        entry = session.get(ConversationEntry, (user, conversation))
        if entry is None:
            entry = ConversationEntry(user_id=user, conversation_id=conversation, peer_id=peer)
            session.add(entry)
        entry.last_seq, entry.last_message_at = message.seq, message.created_at or datetime.now(UTC)
    session.flush()
    return message


def test_user_deleted_erases_what_they_sent_and_strips_what_they_received(
    messages: Messages,
) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with messages.sessions() as session, session.begin():
        from_b_read = send(session, b, a, read=True)
        from_b = send(session, b, a)
        for _ in range(3):
            send(session, a, b)
        send(session, a, c)  # a conversation only A wrote in
        kept = send(session, b, c)
        session.add_all(
            [
                HiddenMessage(user_id=a, message_id=from_b.id),
                Block(blocker_id=a, blocked_id=c),
                Block(blocker_id=c, blocked_id=a),
            ]
        )
    erasure_id = messages.rig.delete_user(str(a))
    messages.rig.confirmed(erasure_id, "messages")

    assert leftovers(messages.database_url, str(a), allowed=PEERS_COPY) == {}
    with messages.sessions() as session:
        theirs = session.scalars(select(Message).where(Message.recipient_id == a)).all()
        assert {m.id for m in theirs} == {from_b_read.id, from_b.id}
        assert all(m.keys == {str(b): "Zm9y"} and m.read_at is None for m in theirs)
        b_entry = session.get(ConversationEntry, (b, conversation_id(a, b)))
        assert b_entry is not None
        assert b_entry.last_seq == from_b.seq
        assert session.get(ConversationEntry, (c, conversation_id(a, c))) is None
        assert session.get(Message, kept.id) is not None

    messages.rig.delete_user(str(a), erasure_id)  # auth's retry
    messages.rig.confirmed(erasure_id, "messages", count=2)


def test_erasing_ten_thousand_sent_messages(messages: Messages) -> None:
    """The measured case of the report: a user who sent 10,000 messages (and received 1,000)."""
    a, b = uuid.uuid4(), uuid.uuid4()
    with messages.sessions() as session, session.begin():
        send(session, a, b)
        send(session, b, a)
        session.execute(
            text(
                "INSERT INTO messages (id, conversation_id, sender_id, recipient_id,"
                " idempotency_key, content_hash, ciphertext, nonce, keys)"
                " SELECT gen_random_uuid(), :conversation,"
                " CASE WHEN n <= 10000 THEN :a ELSE :b END,"
                " CASE WHEN n <= 10000 THEN :b ELSE :a END, 'k' || n, repeat('0', 64),"
                " decode(repeat('ab', 200), 'hex'), 'nonce',"
                " jsonb_build_object(:a_text, 'Zm9y', :b_text, 'Zm9y')"
                " FROM generate_series(1, 11000) AS n"
            ),
            {
                "conversation": conversation_id(a, b),
                "a": a,
                "b": b,
                "a_text": str(a),
                "b_text": str(b),
            },
        )
    started = time.monotonic()
    erasure_id = messages.rig.delete_user(str(a))
    messages.rig.confirmed(erasure_id, "messages", timeout=60)
    elapsed = time.monotonic() - started
    print(f"\nerasure of 10,001 sent + 1,001 received messages: {elapsed:.2f} s end to end")
    assert leftovers(messages.database_url, str(a), allowed=PEERS_COPY) == {}
    with messages.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM messages")) == 1001
    assert elapsed < 30


def test_export_returns_own_messages_with_only_own_key(messages: Messages) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with messages.sessions() as session, session.begin():
        send(session, a, b)
        send(session, b, a)
        session.add(Block(blocker_id=a, blocked_id=b))
    response = messages.client.get("/api/v1/messages/export", headers=messages.issuer.headers(a))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service"] == "messages"
    assert body["user_id"] == str(a)
    assert len(body["messages"]) == 2
    assert all(m["wrapped_key"] == "Zm9y" and "keys" not in m for m in body["messages"])
    assert body["blocked_user_ids"] == [str(b)]
    assert len(body["conversations"]) == 1


def block_exists(messages: Messages, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
    with messages.sessions() as session:
        return session.get(Block, (blocker, blocked)) is not None


def test_after_the_erasure_no_message_or_block_names_the_user_again(messages: Messages) -> None:
    """A peer whose client still holds the erased user's id and key gets a 404; a late
    contact.blocked about them writes nothing."""
    a, b = uuid.uuid4(), uuid.uuid4()
    erasure_id = messages.rig.delete_user(str(a))
    messages.rig.confirmed(erasure_id, "messages")

    wrapped = base64.b64encode(b"wrapped").decode()
    body = {
        "recipient_id": str(a),
        "idempotency_key": uuid.uuid4().hex,
        "ciphertext": base64.b64encode(b"opaque").decode(),
        "nonce": base64.b64encode(b"twelve bytes").decode(),
        "keys": {str(a): wrapped, str(b): wrapped},
    }
    sent = messages.client.post("/api/v1/messages", json=body, headers=messages.issuer.headers(b))
    assert sent.status_code == 404, sent.text
    assert sent.json()["type"].endswith(":user-not-found")
    messages.rig.publish("contact.blocked", "users", {"owner_id": str(b), "contact_id": str(a)})
    # A block between two live users after it: the consumer handles its queue in order, so
    # once this one is in, the late one was handled. (A retry of the erasure would not do:
    # it would delete what the late event wrote.)
    c = uuid.uuid4()
    messages.rig.publish("contact.blocked", "users", {"owner_id": str(b), "contact_id": str(c)})
    wait_for(lambda: block_exists(messages, b, c))
    assert leftovers(messages.database_url, str(a)) == {}
