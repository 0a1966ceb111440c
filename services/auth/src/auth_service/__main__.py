"""`messaging-auth [serve|migrate|generate-key|migrate-from-monolith|make-admin]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from messaging_kit.cli import Command, ServiceCli

from auth_service import SERVICE
from auth_service.core.config import get_settings
from auth_service.core.keys import generate_ed25519_pem


def _generate_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="where to write the PEM file, named <kid>.pem")


def _generate_key(args: argparse.Namespace, settings: Any) -> int:
    path = Path(args.path)
    path.write_bytes(generate_ed25519_pem())
    path.chmod(0o600)
    print(f"wrote Ed25519 signing key {path.stem} to {path}")
    return 0


def _monolith_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="URL of the legacy monolith database")
    parser.add_argument("--batch-size", type=int, default=1000)


def _migrate_from_monolith(args: argparse.Namespace, settings: Any) -> int:
    from auth_service.monolith import import_credentials

    report = import_credentials(args.source, settings.database_url, batch_size=args.batch_size)
    print(report.summary())
    return 0


def _make_admin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username")
    parser.add_argument("--revoke", action="store_true", help="take the admin role back")


def _make_admin(args: argparse.Namespace, settings: Any) -> int:
    from messaging_kit.db import Database

    from auth_service.admin import set_role

    db = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with db.sessions() as session:
            user = set_role(session, args.username, "user" if args.revoke else "admin")
    finally:
        db.close()
    if user is None:
        print(f"messaging-auth: no user named {args.username!r}", file=sys.stderr)
        return 1
    print(
        f"{user.username} ({user.id}) now has the role {user.role} (in tokens from the next login)"
    )
    return 0


CLI = ServiceCli(
    service=SERVICE,
    app_factory="auth_service.main:create_app",
    settings=get_settings,
    migrations_package="auth_service",
    commands={
        "generate-key": Command(
            "write a new Ed25519 signing key",
            _generate_key,
            _generate_key_arguments,
            needs_settings=False,
        ),
        "migrate-from-monolith": Command(
            "copy credentials from the legacy users table (idempotent, resumable)",
            _migrate_from_monolith,
            _monolith_arguments,
        ),
        "make-admin": Command(
            "grant a user the admin role (audit-logged); --revoke takes it back",
            _make_admin,
            _make_admin_arguments,
        ),
    },
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
