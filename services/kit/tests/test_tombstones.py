"""Tombstones of erased users against real PostgreSQL: recorded by the erasure handler, and a
writer racing the erasure either lands before it (and is erased) or is refused after it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from messaging_kit.db import Database
from messaging_kit.erasure import ErasureRequest, erasure_handler
from messaging_kit.events import Event, event_tables, new_event
from messaging_kit.problems import Problem
from messaging_kit.tombstones import erased_among, refuse_erased
from messaging_testing.infra import fresh_database
from sqlalchemy import Column, MetaData, Table, delete, func, insert, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Session

pytestmark = pytest.mark.infra

METADATA = MetaData()
TABLES = event_tables(METADATA)
NOTES = Table("notes", METADATA, Column("author_id", UUID(as_uuid=True), nullable=False))


@pytest.fixture
def db() -> Iterator[Database]:
    with fresh_database("kit") as url:
        database = Database(url)
        METADATA.create_all(database.engine)
        yield database
        database.close()


def erase_notes(session: Session, request: ErasureRequest) -> int:
    return session.execute(delete(NOTES).where(NOTES.c.author_id == request.user_id)).rowcount


handle_user_deleted = erasure_handler("kit-test", TABLES, erase_notes)


def user_deleted(user: uuid.UUID, erasure: uuid.UUID | None = None) -> Event:
    data = {"user_id": str(user), "erasure_id": str(erasure or uuid.uuid4()), "requested_at": ""}
    return new_event("user.deleted", "auth", data)


def write_note(session: Session, author: uuid.UUID) -> None:
    refuse_erased(session, TABLES, [author], "note")
    session.execute(insert(NOTES).values(author_id=author))


def notes_of(db: Database, author: uuid.UUID) -> int:
    with db.sessions() as session:
        query = select(func.count()).select_from(NOTES).where(NOTES.c.author_id == author)
        return int(session.scalar(query) or 0)


def test_the_erasure_records_a_tombstone_once_and_writes_are_refused_after(db: Database) -> None:
    user, other, erasure = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for _ in range(2):  # auth retries the same erasure: one tombstone, the first one's
        with db.sessions() as session:
            handle_user_deleted(session, user_deleted(user, erasure))
            session.commit()
    with db.sessions() as session:
        rows = session.execute(select(TABLES.erased_users)).all()
        assert [(r.user_id, r.erasure_id) for r in rows] == [(user, str(erasure))]
        assert erased_among(session, TABLES, [str(user)]) == {user}
        assert erased_among(session, TABLES, [other]) == set()
        assert erased_among(session, TABLES, []) == set()
        assert erased_among(session, TABLES, [user, other, user]) == {user}
        write_note(session, other)
        with pytest.raises(Problem) as refused:
            write_note(session, user)
        assert refused.value.status == 404
        assert refused.value.slug == "user-not-found"
        assert str(user) in str(refused.value.detail)


def test_a_writer_that_passed_the_check_holds_the_erasure_until_it_commits(db: Database) -> None:
    user = uuid.uuid4()
    erased = threading.Event()
    with db.sessions() as writer:
        write_note(writer, user)  # checked, locked, written; not committed yet

        def erase() -> None:
            with db.sessions() as session:
                handle_user_deleted(session, user_deleted(user))
                session.commit()
            erased.set()

        eraser = threading.Thread(target=erase)
        eraser.start()
        time.sleep(0.5)
        assert not erased.is_set(), "the erasure went ahead while a checked write was open"
        writer.commit()
    eraser.join(10)
    assert erased.is_set()
    assert notes_of(db, user) == 0, "the erasure missed the note committed before it"


def test_a_writer_checking_during_the_erasure_waits_and_is_refused(db: Database) -> None:
    user = uuid.uuid4()
    outcome: list[str] = []
    with db.sessions() as eraser:
        handle_user_deleted(eraser, user_deleted(user))

        def write() -> None:
            with db.sessions() as session:
                try:
                    write_note(session, user)
                    session.commit()
                    outcome.append("written")
                except Problem as problem:
                    outcome.append(problem.slug)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        assert outcome == [], "the writer checked before the erasure committed"
        eraser.commit()
    writer.join(10)
    assert outcome == ["user-not-found"]
    assert notes_of(db, user) == 0
