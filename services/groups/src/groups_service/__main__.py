"""`messaging-groups [serve|migrate]`."""

from __future__ import annotations

import sys

from messaging_kit.cli import ServiceCli

from groups_service import SERVICE
from groups_service.core.config import get_settings

CLI = ServiceCli(
    service=SERVICE,
    app_factory="groups_service.main:create_app",
    settings=get_settings,
    migrations_package="groups_service",
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
