"""`messaging-<name> backup` and `restore`: the service's database to object storage and back.

A backup is `pg_dump --format=custom` piped straight into a multipart upload, so neither memory
nor disk ever holds the whole dump (one upload part at a time). A restore pipes the object into
`pg_restore` against a NEW database, checks it, and only then swaps it in by renaming, in one
transaction: a corrupt or truncated dump leaves the live database exactly as it was.

Backups are named `<service>/<version>/<UTC time>.dump`, the time in ISO basic format, so
names sort by time within a service whatever the version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg2
import urllib3
from minio import Minio
from minio.error import S3Error
from psycopg2 import sql
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

# One multipart part in memory at a time; 16 MiB keeps a 1M-row dump to a handful of parts.
PART_SIZE = 16 * 1024 * 1024
READ_CHUNK = 1024 * 1024
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*/[A-Za-z0-9._+-]+/\d{8}T\d{6}Z\.dump$")
# Kubernetes shows this file's content as the container's termination message: the operator
# reads the name of a scheduled backup from it.
TERMINATION_LOG = "/dev/termination-log"
STAGING_SUFFIX = "_restoring"
PREVIOUS_SUFFIX = "_before_restore"


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why, in one line."""


class BackupSettings(BaseSettings):
    """What backup and restore read from the environment (a subset of a service's settings)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str = Field(pattern=r"^postgresql(\+psycopg2)?://")
    service_version: str = "0.1.0"
    s3_endpoint_url: str = Field(default="http://127.0.0.1:9000", pattern=r"^https?://")
    s3_access_key: str
    s3_secret_key: str
    s3_region: str = "us-east-1"
    backup_bucket: str = Field(default="backups", min_length=3, max_length=63)
    # A role allowed to create and rename databases (restore); empty: the service's own role.
    postgres_admin_user: str = ""
    postgres_admin_password: str = ""


@dataclass(frozen=True)
class BackupResult:
    name: str
    size: int
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    name: str
    database: str
    revision: str
    tables: int
    seconds: float


def backup_name(service: str, version: str, at: datetime) -> str:
    return f"{service}/{version}/{at.strftime(TIME_FORMAT)}.dump"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise BackupError(f"{name!r} is not a backup name (<service>/<version>/<time>.dump)")
    return name


def newest_first(names: list[str]) -> list[str]:
    """Backup names by their time, newest first (the version part plays no role)."""
    return sorted(names, key=lambda name: (PurePosixPath(name).name, name), reverse=True)


def to_prune(names: list[str], retain: int) -> list[str]:
    """The names beyond the newest `retain` (retain 0 keeps everything)."""
    return [] if retain <= 0 else newest_first(names)[retain:]


def libpq_env(url: str) -> dict[str, str]:
    """A database URL as libpq environment variables: no password on a command line."""
    parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    env = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGDATABASE": unquote(parts.path.lstrip("/")),
    }
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://", 1))
    host = parts.hostname or "127.0.0.1"
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    netloc = f"{credentials}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def object_store(settings: BackupSettings) -> Minio:
    parts = urlsplit(settings.s3_endpoint_url)
    # The client's default retries a dead store for many seconds; the Job retries on exit 75.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=300),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(
        parts.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=parts.scheme == "https",
        region=settings.s3_region,
        http_client=http,
    )


def _stderr_line(errors: IO[bytes]) -> str:
    errors.seek(0)
    text = errors.read().decode(errors="replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-3:]) or "no message"


def take_backup(url: str, store: Minio, bucket: str, name: str) -> BackupResult:
    """pg_dump of the URL's database, uploaded as it is produced; a failed dump leaves nothing."""
    check_name(name)
    started = time.monotonic()
    if not store.bucket_exists(bucket):
        with contextlib.suppress(S3Error):  # another backup made it between the two calls
            store.make_bucket(bucket)
    with tempfile.TemporaryFile() as errors:
        dump = subprocess.Popen(
            ["pg_dump", "--format=custom"],  # noqa: S607 - the image's postgresql-client
            env={**os.environ, **libpq_env(url)},
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert dump.stdout is not None
        try:
            store.put_object(
                bucket,
                name,
                dump.stdout,  # type: ignore[arg-type]  # a pipe is a binary stream
                length=-1,
                part_size=PART_SIZE,
                content_type="application/vnd.postgresql.custom-dump",
            )
        except BaseException:
            dump.kill()
            dump.wait()
            raise
        finally:
            dump.stdout.close()
        code = dump.wait()
        if code != 0:
            with contextlib.suppress(S3Error):
                store.remove_object(bucket, name)
            raise BackupError(f"pg_dump exited with {code}: {_stderr_line(errors)}")
    size = store.stat_object(bucket, name).size or 0
    return BackupResult(name, size, time.monotonic() - started)


def list_backups(store: Minio, bucket: str, service: str) -> list[str]:
    """This service's backups, newest first."""
    if not store.bucket_exists(bucket):
        return []
    names = [
        str(item.object_name)
        for item in store.list_objects(bucket, prefix=f"{service}/", recursive=True)
        if NAME_PATTERN.match(str(item.object_name))
    ]
    return newest_first(names)


def prune_backups(store: Minio, bucket: str, service: str, retain: int) -> list[str]:
    removed = to_prune(list_backups(store, bucket, service), retain)
    for name in removed:
        store.remove_object(bucket, name)
    return removed


def _admin(admin_url: str) -> Any:
    connection = psycopg2.connect(with_database(admin_url, "postgres"), connect_timeout=10)
    connection.autocommit = True
    return connection


def _drop(admin: Any, database: str) -> None:
    with admin.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def _pipe_into_restore(store: Minio, bucket: str, name: str, url: str) -> None:
    try:
        response = store.get_object(bucket, name)
    except S3Error as error:
        raise BackupError(f"backup {name} not found in bucket {bucket}: {error.code}") from None
    with tempfile.TemporaryFile() as errors:
        # One transaction: a dump that breaks half way leaves nothing half restored.
        restore = subprocess.Popen(  # noqa: S603 - fixed arguments; connection via environment
            ["pg_restore",  # noqa: S607 - the image's postgresql-client "--exit-on-error", "--single-transaction", "--no-owner", "--no-acl",
             "--dbname", libpq_env(url)["PGDATABASE"]],
            env={**os.environ, **libpq_env(url)},
            stdin=subprocess.PIPE,
            stderr=errors,
        )  # fmt: skip
        assert restore.stdin is not None
        try:
            for chunk in response.stream(READ_CHUNK):
                restore.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped reading: its exit code and stderr say why
        finally:
            with contextlib.suppress(BrokenPipeError):
                restore.stdin.close()
            response.close()
            response.release_conn()
        code = restore.wait()
        if code != 0:
            raise BackupError(f"pg_restore of {name} exited with {code}: {_stderr_line(errors)}")


def check_restored(url: str) -> tuple[str, int]:
    """(alembic revision, table count) of a restored database; BackupError when it is not one."""
    connection = psycopg2.connect(url, connect_timeout=10)
    with contextlib.closing(connection), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = int(cursor.fetchone()[0])
        if tables == 0:
            raise BackupError("the restored database holds no tables")
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
        except psycopg2.errors.UndefinedTable:
            raise BackupError("the restored database has no alembic_version table") from None
        row = cursor.fetchone()
    if row is None:
        raise BackupError("the restored database has no schema revision")
    return str(row[0]), tables


def _swap(admin: Any, target: str, staging: str, previous: str) -> None:
    """staging becomes target and target becomes previous, both renames or neither."""
    _drop(admin, previous)
    rename = "ALTER DATABASE {} RENAME TO {}"
    for attempt in range(5):
        with admin.cursor() as cursor:
            # The service is scaled to zero; anything still connected is a straggler.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (target,),
            )
        admin.autocommit = False
        try:
            with admin.cursor() as cursor:
                cursor.execute(
                    sql.SQL(rename).format(sql.Identifier(target), sql.Identifier(previous))
                )
                cursor.execute(
                    sql.SQL(rename).format(sql.Identifier(staging), sql.Identifier(target))
                )
            admin.commit()
            return
        except psycopg2.errors.ObjectInUse:
            admin.rollback()
            if attempt == 4:
                raise BackupError(
                    f"database {target} is still in use; scale the service down"
                ) from None
            time.sleep(0.5)
        finally:
            admin.autocommit = True


def restore_backup(url: str, admin_url: str, store: Minio, bucket: str, name: str) -> RestoreResult:
    """Restore `name` over the URL's database; on any failure that database stays untouched.

    The replaced database is kept as `<database>_before_restore` until the next restore.
    """
    check_name(name)
    started = time.monotonic()
    env = libpq_env(url)
    target, owner = env["PGDATABASE"], env.get("PGUSER", "postgres")
    staging, previous = target + STAGING_SUFFIX, target + PREVIOUS_SUFFIX
    admin = _admin(admin_url)
    try:
        _drop(admin, staging)  # left by a restore that was killed half way
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(staging), sql.Identifier(owner)
                )
            )
        try:
            # As the service's own role, so that every restored object is the service's.
            _pipe_into_restore(store, bucket, name, with_database(url, staging))
            revision, tables = check_restored(with_database(url, staging))
        except BaseException:
            _drop(admin, staging)
            raise
        _swap(admin, target, staging, previous)
    finally:
        admin.close()
    return RestoreResult(name, target, revision, tables, time.monotonic() - started)


def admin_url_of(settings: BackupSettings) -> str:
    if settings.postgres_admin_user:
        return with_credentials(
            settings.database_url, settings.postgres_admin_user, settings.postgres_admin_password
        )
    return settings.database_url


def write_termination_message(text: str, path: str | None = None) -> None:
    """Leave a line where Kubernetes shows it as the container's termination message: the
    operator reads backup names and deferred contractions from there."""
    path = path or TERMINATION_LOG
    if os.path.exists(path):
        with contextlib.suppress(OSError), open(path, "w") as handle:
            handle.write(text)
