"""`messaging-media [serve|migrate|cleanup-orphans]`."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from messaging_kit.cli import Command, ServiceCli

from media_service import SERVICE
from media_service.core.config import get_settings


def _cleanup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=3600.0,
        help="leave anything younger alone: it may be an upload or a delete in flight",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would go")


def _cleanup(args: argparse.Namespace, settings: Any) -> int:
    from messaging_kit.db import Database

    from media_service.cleanup import cleanup_orphans
    from media_service.main import object_store

    db = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        report = cleanup_orphans(
            db.sessions,
            object_store(settings),
            grace=timedelta(seconds=args.grace_seconds),
            dry_run=args.dry_run,
        )
    finally:
        db.close()
    for key in report.blobs_removed:
        print(f"blob without row: {key}")
    for media_id in report.rows_removed:
        print(f"row without blob: {media_id}")
    print(report.summary())
    return 0


CLI = ServiceCli(
    service=SERVICE,
    app_factory="media_service.main:create_app",
    settings=get_settings,
    migrations_package="media_service",
    commands={
        "cleanup-orphans": Command(
            "remove blobs without rows and rows without blobs", _cleanup, _cleanup_arguments
        ),
    },
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
