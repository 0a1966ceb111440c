"""SQLAlchemy 2 engine (pooled) and one session per request."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (what operators write) and use psycopg2 for them."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.engine: Engine = create_engine(
            normalize_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,  # a restarted PostgreSQL must not surface as one failed request
            pool_recycle=1800,
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Iterator[Session]:
        """FastAPI dependency: a session that rolls back whatever the route left uncommitted."""
        with self.sessions() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
