"""`messaging-<name> migrate`: alembic upgrade head from the alembic/ folder inside the package.

alembic.ini and the scripts ship inside each service's wheel, so the operator's migration Job
runs the service image with exactly that command and nothing else.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool, text

from messaging_kit.db import normalize_url

log = logging.getLogger(__name__)


def alembic_config(package: str, database_url: str) -> Config:
    root = Path(str(resources.files(package)))
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    # ConfigParser interpolation would eat a % in a password.
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_head(package: str, database_url: str) -> None:
    log.info("migrating database to head", extra={"package": package})
    command.upgrade(alembic_config(package, database_url), "head")


def run_online(target_metadata: MetaData) -> None:
    """Body of every service's alembic/env.py (online mode only: we always have the DB)."""
    from alembic import context

    config = context.config
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Two migration Jobs (a retry beside a slow first try) must not interleave.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('alembic-migrate'))"))
            context.run_migrations()
