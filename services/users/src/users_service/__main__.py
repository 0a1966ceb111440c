"""`messaging-users [serve|migrate|migrate-from-monolith]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from messaging_kit.cli import Command, ServiceCli

from users_service import SERVICE
from users_service.core.config import get_settings


def _monolith_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="URL of the legacy monolith database")
    parser.add_argument("--batch-size", type=int, default=1000)


def _migrate_from_monolith(args: argparse.Namespace, settings: Any) -> int:
    from users_service.monolith import import_profiles

    report = import_profiles(args.source, settings.database_url, batch_size=args.batch_size)
    print(report.summary())
    return 0


CLI = ServiceCli(
    service=SERVICE,
    app_factory="users_service.main:create_app",
    settings=get_settings,
    migrations_package="users_service",
    commands={
        "migrate-from-monolith": Command(
            "copy profiles from the legacy users table (idempotent, resumable)",
            _migrate_from_monolith,
            _monolith_arguments,
        ),
    },
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
