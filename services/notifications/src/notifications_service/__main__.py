"""`messaging-notifications [serve|migrate]`."""

from __future__ import annotations

import sys

from messaging_kit.cli import ServiceCli

from notifications_service import SERVICE
from notifications_service.core.config import get_settings

CLI = ServiceCli(
    service=SERVICE,
    app_factory="notifications_service.main:create_app",
    settings=get_settings,
    migrations_package="notifications_service",
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
