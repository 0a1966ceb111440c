"""The `backup` and `restore` subcommands every database-owning service gets from the kit."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

import psycopg2
from minio.error import S3Error
from pydantic import ValidationError
from urllib3.exceptions import HTTPError

from messaging_kit.backup import (
    BackupError,
    BackupSettings,
    admin_url_of,
    backup_name,
    object_store,
    prune_backups,
    restore_backup,
    take_backup,
    write_termination_message,
)
from messaging_kit.settings import EXIT_BAD_SETTINGS, describe_error

log = logging.getLogger(__name__)
EXIT_FAILED = 1
# sysexits' EX_TEMPFAIL: the database or the object store is not reachable yet; try again.
EXIT_TEMPORARY_FAILURE = 75


def backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name", help="object name (default: <service>/<SERVICE_VERSION>/<UTC time>.dump)"
    )
    parser.add_argument(
        "--retain",
        type=int,
        default=0,
        help="afterwards keep only this many newest backups of the service (0: keep all)",
    )


def restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the backup to restore, <service>/<version>/<time>.dump")


def _settings(service: str) -> BackupSettings | None:
    try:
        return BackupSettings()
    except ValidationError as error:
        print(f"messaging-{service}: bad settings: {describe_error(error)}", file=sys.stderr)
        return None


def _unreachable(service: str, error: Exception) -> int:
    first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    print(f"messaging-{service}: not reachable: {first}", file=sys.stderr)
    return EXIT_TEMPORARY_FAILURE


def run_backup(service: str, args: argparse.Namespace) -> int:
    settings = _settings(service)
    if settings is None:
        return EXIT_BAD_SETTINGS
    name = args.name or backup_name(service, settings.service_version, datetime.now(UTC))
    store = object_store(settings)
    try:
        result = take_backup(settings.database_url, store, settings.backup_bucket, name)
        removed = prune_backups(store, settings.backup_bucket, service, args.retain)
    except BackupError as error:
        print(f"messaging-{service}: backup failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (HTTPError, OSError) as error:
        return _unreachable(service, error)
    except S3Error as error:
        print(f"messaging-{service}: object storage refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    write_termination_message(result.name)
    log.info(
        "backup written",
        extra={"backup": result.name, "bytes": result.size, "seconds": round(result.seconds, 2)},
    )
    print(result.name)
    for old in removed:
        log.info("backup pruned", extra={"backup": old})
    return 0


def run_restore(service: str, args: argparse.Namespace) -> int:
    settings = _settings(service)
    if settings is None:
        return EXIT_BAD_SETTINGS
    store = object_store(settings)
    try:
        result = restore_backup(
            settings.database_url,
            admin_url_of(settings),
            store,
            settings.backup_bucket,
            args.name,
        )
    except BackupError as error:
        message = f"restore failed, the database was left untouched: {error}"
        print(f"messaging-{service}: {message}", file=sys.stderr)
        write_termination_message(message)
        return EXIT_FAILED
    except psycopg2.OperationalError as error:
        return _unreachable(service, error)
    except psycopg2.Error as error:
        print(f"messaging-{service}: restore failed: {error}".strip(), file=sys.stderr)
        return EXIT_FAILED
    except (HTTPError, OSError) as error:
        return _unreachable(service, error)
    log.info(
        "backup restored",
        extra={
            "backup": result.name,
            "database": result.database,
            "revision": result.revision,
            "tables": result.tables,
            "seconds": round(result.seconds, 2),
        },
    )
    print(f"restored {result.name} into {result.database} at revision {result.revision}")
    return 0
