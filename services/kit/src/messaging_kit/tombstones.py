"""Tombstones of erased users: what keeps an erasure erased.

Erasing a user's rows is not enough: a `user.registered` redelivered after the `user.deleted`,
a message sent to the user's id by a client that still holds their key, an invitation into a
group, would each write the user's id again. Every service with a database records the user's
id in its `erased_users` table (EventTables.erased_users) in the erasure's own transaction, and
refuses or skips, from then on, anything that would store it again.

A check and the erasure exclude each other through a per-user advisory lock (shared for
checks, exclusive for the erasure): a writer that passed the check commits before the erasure
deletes (which then sees its row), or checks after the tombstone committed.

The tombstone holds the random user id only, no personal data: it is the suppression record an
erasure needs, like auth's `deleted_users`, and the erasure check allows it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert

from messaging_kit.problems import Problem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from messaging_kit.erasure import ErasureRequest
    from messaging_kit.events.outbox import EventTables

# The (table, column) the erasure check leaves alone: the tombstone is the erasure's record.
TOMBSTONE_COLUMNS = frozenset({("erased_users", "user_id")})


# Built once (this runs for every event and write naming a user): the two lock statements and,
# per tombstone table, the lookup; SQLAlchemy then keys each for its compiled cache only once.
LOCK_USERS = {
    exclusive: text(
        f"SELECT {lock}(hashtext('erased-users'), hashtext(u::text))"  # noqa: S608 - fixed
        " FROM (SELECT unnest(CAST(:users AS uuid[])) AS u ORDER BY 1) AS ordered"
    )
    for exclusive, lock in (
        (True, "pg_advisory_xact_lock"),
        (False, "pg_advisory_xact_lock_shared"),
    )
}


@functools.cache
def erased_lookup(table: Table) -> Select[Any]:
    """The erased among :users, as one array (NULL when none)."""
    return select(func.array_agg(table.c.user_id)).where(
        table.c.user_id.in_(bindparam("users", expanding=True))
    )


def lock_users(session: Session, user_ids: Iterable[uuid.UUID], *, exclusive: bool) -> None:
    """Transaction-scoped advisory locks, in a key space of their own (the two-key form), all
    in one statement, taken in a fixed order (no two writers deadlock)."""
    ordered = sorted(set(user_ids))
    if not ordered:
        return
    session.execute(LOCK_USERS[exclusive], {"users": [str(user) for user in ordered]})


def create_table() -> None:
    """A service's alembic revision that adds the tombstones (an expand step): its upgrade."""
    import sqlalchemy as sa
    from alembic import op

    from messaging_kit.events.outbox import event_tables

    event_tables(sa.MetaData()).erased_users.create(op.get_bind())


def drop_table() -> None:
    """That revision's downgrade."""
    from alembic import op

    op.drop_table("erased_users")


def record_erased(session: Session, tables: EventTables, request: ErasureRequest) -> None:
    """Idempotent: a retried erasure keeps the first tombstone. Waits for writers that are
    storing this user's id to commit, so the erasure that follows finds their rows."""
    table = tables.erased_users
    lock_users(session, [request.user_id], exclusive=True)
    session.execute(
        insert(table)
        .values(user_id=request.user_id, erasure_id=request.erasure_id)
        .on_conflict_do_nothing(index_elements=[table.c.user_id])
    )


def erased_among(
    session: Session, tables: EventTables, user_ids: Iterable[uuid.UUID | str]
) -> set[uuid.UUID]:
    """Which of these users were erased here. Holds a shared lock on each until the caller's
    transaction ends: call it right before writing their ids, in the same transaction. The lock
    comes first, in a statement of its own: a statement sees the commits made before it began.
    A writer that reads the tombstones itself (a statement doing the check and the write at
    once) calls lock_users(..., exclusive=False) first, the same way."""
    wanted = {uuid.UUID(str(user)) for user in user_ids}
    if not wanted:
        return set()
    lock_users(session, wanted, exclusive=False)
    erased = session.scalar(erased_lookup(tables.erased_users), {"users": list(wanted)})
    return set(erased or ())


def erased_problem(erased: Iterable[uuid.UUID | str], what: str) -> Problem:
    """The 404 a request naming an erased user gets: to everyone else they no longer exist."""
    return Problem(
        404,
        "user-not-found",
        "No such user",
        detail=f"{what}: user {sorted(map(str, erased))[0]} does not exist",
    )


def refuse_erased(
    session: Session, tables: EventTables, user_ids: Iterable[uuid.UUID | str], what: str
) -> None:
    """erased_among, as a 404 when any of these users was erased."""
    erased = erased_among(session, tables, user_ids)
    if erased:
        raise erased_problem(erased, what)
