"""Search stays on indexes at 100k profiles (EXPLAIN of the exact statement the API runs)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from messaging_kit.db import Database
from messaging_kit.migrations import upgrade_head
from messaging_testing.infra import fresh_database
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from users_service.crud import search_statement

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def big_db() -> Iterator[Database]:
    with fresh_database("users_plan") as url:
        upgrade_head("users_service", url)
        db = Database(url)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO profiles (user_id, username, display_name, email)"
                    " SELECT gen_random_uuid(), 'user' || n, 'Name ' || md5(n::text), NULL"
                    " FROM generate_series(1, 100000) AS n"
                )
            )
            connection.execute(text("ANALYZE profiles"))
        yield db
        db.close()


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.parametrize(
    ("query", "after"), [("user123", None), ("name ab", None), ("us", "user5")]
)
def test_search_uses_indexes_not_sequential_scans(
    big_db: Database, query: str, after: str | None
) -> None:
    statement = search_statement(uuid.uuid4(), query, limit=20, after=after)
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with big_db.engine.connect() as connection:
        raw = connection.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    scans = {(node["Node Type"], node.get("Relation Name")) for node in plan_nodes(plan)}
    assert ("Seq Scan", "profiles") not in scans, scans
    used = {node.get("Index Name") for node in plan_nodes(plan)}
    assert used & {"uq_profiles_username_lower", "ix_profiles_display_name_lower"}, scans
