"""`messaging-<name> migrate`: alembic upgrade head from the alembic/ folder inside the package.

alembic.ini and the scripts ship inside each service's wheel, so the operator's migration Job
runs the service image with exactly that command and nothing else.

Expand/contract: a revision module that sets `contract = True` removes or narrows something an
older version of the service may still use (drops a column, adds NOT NULL). It is applied only
when no other version runs: `RUNNING_VERSIONS` (set by the operator on every migration Job: the
versions its Deployments of the service run now) names nothing but this version, or the command
gets `--allow-contract`. Otherwise the upgrade stops just before the first contracting revision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, engine_from_config, pool, text

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


CONTRACT_ATTRIBUTE = "contract"
# The termination message of a migration that held a contraction back: the operator runs
# `migrate --allow-contract` once the rollout left only this version running.
DEFERRED_PREFIX = "contract-deferred:"


@dataclass(frozen=True)
class Pending:
    revision: str
    down_revision: str | None
    contract: bool


def pending_revisions(package: str, database_url: str) -> list[Pending]:
    """Revisions not yet applied to the database, oldest first (a linear history)."""
    config = alembic_config(package, database_url)
    script = ScriptDirectory.from_config(config)
    engine = create_engine(normalize_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    lower = heads[0] if heads else "base"
    found = []
    for rev in script.iterate_revisions("heads", lower):
        down = rev.down_revision
        found.append(
            Pending(
                revision=rev.revision,
                down_revision=down if isinstance(down, str) or down is None else down[0],
                contract=bool(getattr(rev.module, CONTRACT_ATTRIBUTE, False)),
            )
        )
    return list(reversed(found))


def contract_blocker(running_versions: str | None, version: str, allowed: bool) -> str | None:
    """Why a contracting revision may not run now, or None when it may."""
    if allowed:
        return None
    if running_versions is None:
        return "RUNNING_VERSIONS is not set, so an older version may still run"
    others = sorted({v.strip() for v in running_versions.split(",") if v.strip()} - {version})
    if others:
        return f"version(s) {', '.join(others)} still run beside {version}"
    return None


def upgrade_to(package: str, database_url: str, revision: str) -> None:
    log.info("migrating database", extra={"package": package, "revision": revision})
    command.upgrade(alembic_config(package, database_url), revision)


@dataclass(frozen=True)
class Deferred:
    revision: str
    reason: str


def upgrade_expanding(
    package: str, database_url: str, running_versions: str | None, version: str, allowed: bool
) -> Deferred | None:
    """Upgrade to head, or only up to the first contracting revision when it may not run yet."""
    pending = pending_revisions(package, database_url)
    contracting = [p for p in pending if p.contract]
    blocker = contract_blocker(running_versions, version, allowed)
    if not contracting or blocker is None:
        upgrade_head(package, database_url)
        return None
    first = contracting[0]
    if first.down_revision and first is not pending[0]:
        upgrade_to(package, database_url, first.down_revision)
    return Deferred(first.revision, blocker)


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
