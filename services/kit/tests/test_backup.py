"""Backup and restore against real PostgreSQL and MinIO: pg_dump streamed to the object store,
pg_restore into a new database swapped in by renaming; a corrupt dump changes nothing."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg2
import pytest
from messaging_kit.backup import (
    PREVIOUS_SUFFIX,
    STAGING_SUFFIX,
    BackupError,
    backup_name,
    libpq_env,
    list_backups,
    prune_backups,
    restore_backup,
    take_backup,
    to_prune,
    with_database,
)
from messaging_kit.cli import ServiceCli
from messaging_kit.settings import DatabaseSettings
from messaging_testing.infra import fresh_database, infra_url
from minio import Minio

pytestmark = pytest.mark.infra

S3_ENDPOINT = os.environ.get("MP_S3_ENDPOINT", "http://127.0.0.1:19000")
S3_ACCESS_KEY = os.environ.get("MP_S3_ACCESS_KEY", "platform")
S3_SECRET_KEY = os.environ.get("MP_S3_SECRET_KEY", "platform-secret")
ROWS = 2000


def minio_client() -> Minio:
    from urllib.parse import urlsplit

    parts = urlsplit(S3_ENDPOINT)
    return Minio(parts.netloc, S3_ACCESS_KEY, S3_SECRET_KEY, secure=parts.scheme == "https")


@pytest.fixture
def store() -> Iterator[tuple[Minio, str]]:
    client = minio_client()
    bucket = f"test-backups-{uuid.uuid4().hex[:10]}"
    try:
        client.make_bucket(bucket)
    except Exception as error:
        pytest.fail(f"MinIO at {S3_ENDPOINT} is not answering ({error!r}); run `make infra-up`")
    yield client, bucket
    for item in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, str(item.object_name))
    client.remove_bucket(bucket)


def execute(url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(psycopg2.connect(url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []


def drop(url: str, database: str) -> None:
    execute(with_database(url, "postgres"), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def database() -> Iterator[str]:
    """A service-like database: an alembic revision and ROWS notes."""
    with fresh_database("backup") as url:
        execute(url, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        execute(url, "INSERT INTO alembic_version VALUES ('0001')")
        execute(url, "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        execute(
            url,
            "INSERT INTO notes SELECT n, 'note ' || n FROM generate_series(1, %s) AS n",
            ROWS,
        )
        yield url
        name = libpq_env(url)["PGDATABASE"]
        for leftover in (name + PREVIOUS_SUFFIX, name + STAGING_SUFFIX):
            drop(url, leftover)


def count(url: str) -> int:
    return int(execute(url, "SELECT count(*) FROM notes")[0][0])


def databases(url: str, prefix: str) -> set[str]:
    rows = execute(
        with_database(url, "postgres"),
        "SELECT datname FROM pg_database WHERE datname LIKE %s",
        prefix + "%",
    )
    return {row[0] for row in rows}


def test_restore_brings_back_rows_deleted_after_the_backup(database, store):
    client, bucket = store
    name = backup_name("notes", "1.0.0", datetime.now(UTC))
    result = take_backup(database, client, bucket, name)
    assert result.size > 0
    assert list_backups(client, bucket, "notes") == [name]
    execute(database, "DELETE FROM notes WHERE id > 100")
    execute(database, "UPDATE alembic_version SET version_num = '0002'")
    assert count(database) == 100

    restored = restore_backup(database, database, client, bucket, name)

    assert count(database) == ROWS
    assert restored.revision == "0001"
    assert restored.tables == 2
    target = libpq_env(database)["PGDATABASE"]
    # The replaced database is kept until the next restore; no staging database is left.
    kept = with_database(database, target + PREVIOUS_SUFFIX)
    assert count(kept) == 100
    assert databases(database, target) == {target, target + PREVIOUS_SUFFIX}


def test_a_corrupt_dump_fails_clearly_and_leaves_the_database_untouched(database, store):
    client, bucket = store
    good = take_backup(database, client, bucket, backup_name("notes", "1.0.0", datetime.now(UTC)))
    blob = client.get_object(bucket, good.name)
    data = blob.read()
    blob.close()
    blob.release_conn()
    # The header intact, the table data cut off half way: pg_restore starts, then breaks.
    corrupt = "notes/1.0.0/20200101T000000Z.dump"
    client.put_object(bucket, corrupt, io.BytesIO(data[: len(data) // 2]), len(data) // 2)
    execute(database, "DELETE FROM notes WHERE id > 10")

    with pytest.raises(BackupError, match=r"pg_restore of notes/1\.0\.0/20200101T000000Z\.dump"):
        restore_backup(database, database, client, bucket, corrupt)

    assert count(database) == 10
    assert execute(database, "SELECT version_num FROM alembic_version") == [("0001",)]
    target = libpq_env(database)["PGDATABASE"]
    assert databases(database, target) == {target}


def test_garbage_and_missing_backups_fail_before_anything_changes(database, store):
    client, bucket = store
    garbage = "notes/1.0.0/20200101T000001Z.dump"
    client.put_object(bucket, garbage, io.BytesIO(b"not a dump at all"), 17)
    with pytest.raises(BackupError, match="pg_restore"):
        restore_backup(database, database, client, bucket, garbage)
    with pytest.raises(BackupError, match="not found in bucket"):
        restore_backup(database, database, client, bucket, "notes/1.0.0/20200101T000002Z.dump")
    with pytest.raises(BackupError, match="is not a backup name"):
        restore_backup(database, database, client, bucket, "../etc/passwd")
    assert count(database) == ROWS


def test_a_failed_dump_leaves_no_object(database, store):
    client, bucket = store
    missing = with_database(database, f"absent_{uuid.uuid4().hex[:8]}")
    with pytest.raises(BackupError, match="pg_dump exited with 1"):
        take_backup(missing, client, bucket, "notes/1.0.0/20200101T000000Z.dump")
    assert list(client.list_objects(bucket, recursive=True)) == []


def test_retention_keeps_the_newest_whatever_the_version(store):
    names = [
        "notes/1.0.0/20261130T000000Z.dump",
        "notes/1.1.0/20261201T000000Z.dump",
        "notes/1.0.0/20261129T000000Z.dump",
    ]
    assert to_prune(names, 2) == ["notes/1.0.0/20261129T000000Z.dump"]
    assert to_prune(names, 0) == []
    client, bucket = store
    for name in [*names, "other/1.0.0/20200101T000000Z.dump"]:
        client.put_object(bucket, name, io.BytesIO(b"x"), 1)
    assert prune_backups(client, bucket, "notes", 1) == [
        "notes/1.0.0/20261130T000000Z.dump",
        "notes/1.0.0/20261129T000000Z.dump",
    ]
    assert list_backups(client, bucket, "notes") == ["notes/1.1.0/20261201T000000Z.dump"]
    assert list_backups(client, bucket, "other") == ["other/1.0.0/20200101T000000Z.dump"]


def cli() -> ServiceCli:
    return ServiceCli(
        service="notes",
        app_factory="unused:create_app",
        settings=lambda: DatabaseSettings(),  # type: ignore[call-arg]
        migrations_package="unused",
    )


def test_console_commands_back_up_prune_and_restore(database, store, monkeypatch, capsys):
    client, bucket = store
    for key, value in {
        "DATABASE_URL": database,
        "SERVICE_VERSION": "2.0.0",
        "S3_ENDPOINT_URL": S3_ENDPOINT,
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "BACKUP_BUCKET": bucket,
    }.items():
        monkeypatch.setenv(key, value)
    client.put_object(bucket, "notes/1.0.0/20200101T000000Z.dump", io.BytesIO(b"x"), 1)
    assert cli().main(["backup", "--retain", "1"]) == 0
    (name,) = list_backups(client, bucket, "notes")
    assert name.startswith("notes/2.0.0/")
    assert name in capsys.readouterr().out
    execute(database, "DELETE FROM notes")
    assert cli().main(["restore", name]) == 0
    assert count(database) == ROWS
    assert cli().main(["restore", "notes/2.0.0/20000101T000000Z.dump"]) == 1
    assert "the database was left untouched" in capsys.readouterr().err


def test_an_unreachable_object_store_asks_for_a_retry(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing there
    monkeypatch.setenv("S3_ACCESS_KEY", "k")
    monkeypatch.setenv("S3_SECRET_KEY", "s")
    assert cli().main(["backup"]) == 75
    assert "not reachable" in capsys.readouterr().err


def test_admin_url_falls_back_to_the_service_role(monkeypatch):
    from messaging_kit.backup import BackupSettings, admin_url_of

    url = infra_url("MP_PG_URL")
    settings = BackupSettings(database_url=url, s3_access_key="k", s3_secret_key="s")
    assert admin_url_of(settings) == url
    admin = BackupSettings(
        database_url="postgresql://svc:pw@db:5432/svc",
        s3_access_key="k",
        s3_secret_key="s",
        postgres_admin_user="root",
        postgres_admin_password="p@ss",
    )
    assert admin_url_of(admin) == "postgresql://root:p%40ss@db:5432/svc"
