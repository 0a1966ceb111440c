"""`messaging-relay [serve]`."""

from __future__ import annotations

import sys

from messaging_kit.cli import ServiceCli

from relay_service import SERVICE
from relay_service.core.config import get_settings

CLI = ServiceCli(
    service=SERVICE,
    app_factory="relay_service.main:create_app",
    settings=get_settings,
)


def main() -> None:
    sys.exit(CLI.main())


if __name__ == "__main__":
    main()
