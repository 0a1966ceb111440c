"""`messaging-messages [serve|migrate]`."""

from __future__ import annotations

import sys

from messaging_kit.cli import ServiceCli

from messages_service import SERVICE
from messages_service.core.config import get_settings

CLI = ServiceCli(
    service=SERVICE,
    app_factory="messages_service.main:create_app",
    settings=get_settings,
    migrations_package="messages_service",
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
