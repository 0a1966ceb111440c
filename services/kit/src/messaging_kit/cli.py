"""Each service's console script: `messaging-<name> [serve|migrate|...]`, `serve` by default."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from messaging_kit.logs import configure_logging
from messaging_kit.settings import ServiceSettings

# The database commands (migrate, backup, restore) import SQLAlchemy, alembic, psycopg2 and
# MinIO inside the methods that run them: relay and websocket own no database, so their images
# carry none of those (messaging-kit without its `db` extra) and must still start.

log = logging.getLogger(__name__)
# sysexits' EX_TEMPFAIL: try again later (the operator's migration Job retries on it).
EXIT_TEMPORARY_FAILURE = 75


def share_metrics_between_workers() -> None:
    """prometheus_client's multiprocess mode: each worker writes its samples to files in one
    fresh directory and /metrics (messaging_kit.metrics) adds them up, whichever worker
    answers. Set before the workers start, so each imports the client with it."""
    import tempfile

    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="metrics-"))


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace, Any], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    needs_settings: bool = True


@dataclass(frozen=True)
class ServiceCli:
    service: str
    app_factory: str  # "auth_service.main:create_app"
    settings: Callable[[], ServiceSettings]  # loads or exits 2 with one line
    migrations_package: str | None = None
    commands: dict[str, Command] = field(default_factory=dict)

    def serve(self, args: argparse.Namespace, settings: ServiceSettings) -> int:
        if settings.workers > 1:
            share_metrics_between_workers()
        uvicorn.run(
            self.app_factory,
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            loop="uvloop",  # hack/bench's baselines run with the same two settings
            http="httptools",
            log_config=None,  # keep our JSON handler
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
        return 0

    def migrate(self, args: argparse.Namespace, settings: ServiceSettings) -> int:
        from sqlalchemy.exc import OperationalError

        from messaging_kit.backup import write_termination_message
        from messaging_kit.migrations import DEFERRED_PREFIX, upgrade_expanding

        assert self.migrations_package is not None
        running = os.environ.get("RUNNING_VERSIONS")
        try:
            deferred = upgrade_expanding(
                self.migrations_package,
                settings.database_url,
                running,
                settings.service_version,
                args.allow_contract,
            )
            if deferred is not None:
                print(
                    f"messaging-{self.service}: contracting migration {deferred.revision} not "
                    f"applied: {deferred.reason}; the migrations before it are. Run `migrate "
                    "--allow-contract` once only this version runs.",
                    file=sys.stderr,
                )
                write_termination_message(f"{DEFERRED_PREFIX} {deferred.revision}")
                return 0
        except OperationalError as error:
            # The migration Job retries this exit code: the database may still be starting.
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            print(f"messaging-{self.service}: database not reachable: {reason}", file=sys.stderr)
            return EXIT_TEMPORARY_FAILURE
        log.info("migrations at head")
        return 0

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=f"messaging-{self.service}")
        sub = parser.add_subparsers(dest="command")
        sub.add_parser("serve", help="serve the HTTP API (default)")
        if self.migrations_package:
            from messaging_kit.backup_commands import backup_arguments, restore_arguments

            migrate = sub.add_parser("migrate", help="apply database migrations (upgrade head)")
            migrate.add_argument(
                "--allow-contract",
                action="store_true",
                help="apply contracting migrations even if RUNNING_VERSIONS names other versions",
            )
            backup = sub.add_parser("backup", help="pg_dump the database into object storage")
            backup_arguments(backup)
            restore = sub.add_parser("restore", help="restore a backup into a new database, swap")
            restore_arguments(restore)
        for name, command in self.commands.items():
            command.arguments(sub.add_parser(name, help=command.help))
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        args = self.parser().parse_args(argv)
        name = args.command or "serve"
        command = self.commands.get(name)
        if self.migrations_package and name in ("backup", "restore"):
            # Their own settings: a database and a bucket, not the whole service's environment.
            from messaging_kit.backup_commands import run_backup, run_restore

            configure_logging(self.service)
            run = run_backup if name == "backup" else run_restore
            return run(self.service, args)
        if command is not None and not command.needs_settings:
            configure_logging(self.service)
            return command.run(args, None)
        settings = self.settings()
        configure_logging(self.service, settings.log_level)
        if name == "serve":
            return self.serve(args, settings)
        if name == "migrate":
            return self.migrate(args, settings)
        assert command is not None
        return command.run(args, settings)
