"""How a service is assembled: its main.py declares what is its own, the kit builds the rest.

`Service(SERVICE, settings, EVENTS)` makes the pool (`.db`) first, since a service's handlers
and workers often need it; `.app(...)` then builds the outbox relay, one EventConsumer per
`Consumes`, the token verifier, the readiness checks and the lifecycle, and puts every part on
`app.state` under the name the routes and tests use (settings, db, relay, verifier, and each
consumer's and worker's own name).

Lifecycle: startup runs `on_startup`, the relay, the consumers, the workers, in that order;
shutdown is the reverse (workers, consumers, relay, then `closes` and the pool), so nothing
stops while something that feeds it still runs and the pool closes last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, FastAPI

from messaging_kit.app import ReadinessCheck, create_app
from messaging_kit.events.broker import broker_check
from messaging_kit.tokens import JwksKeys, TokenVerifier

if TYPE_CHECKING:  # SQLAlchemy only where there is a database (not relay's, websocket's images)
    from messaging_kit.db import Database
    from messaging_kit.events.consumer import Handler, Skip
    from messaging_kit.events.outbox import EventTables


class Worker(Protocol):
    """A background part with a start and a stop; either may be a coroutine function."""

    def start(self) -> Any: ...

    def stop(self) -> Any: ...


@dataclass(frozen=True)
class Consumes:
    """One queue read by the kit's idempotent EventConsumer: routing key -> handler."""

    queue: str
    handlers: Mapping[str, Handler]
    skips: Mapping[str, Skip] | None = None
    # EventConsumer's keyword tuning: prefetch, attempts, first/max_backoff_seconds.
    tuning: Mapping[str, Any] = field(default_factory=dict)


class Service:
    def __init__(self, name: str, settings: Any, events: EventTables | None = None) -> None:
        """events: the service's outbox tables; with them come a pool and an outbox relay."""
        self.name, self.settings, self.events = name, settings, events
        self._db: Database | None = None
        if events is not None:
            from messaging_kit.db import Database

            self._db = Database.from_settings(settings)

    @property
    def db(self) -> Database:
        """The pool, for the service's own handlers and workers."""
        if self._db is None:
            raise ValueError(f"{self.name} has no database: pass its EVENTS tables")
        return self._db

    def app(
        self,
        *,
        routers: Iterable[APIRouter],
        description: str,
        consumers: Mapping[str, Consumes] | None = None,
        workers: Mapping[str, Worker] | None = None,
        readiness: Mapping[str, ReadinessCheck] | None = None,
        on_startup: Iterable[Callable[[], Any]] = (),
        closes: Iterable[Callable[[], Any]] = (),
        verifier: TokenVerifier | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> FastAPI:
        """consumers, workers: by their app.state name, started in this order; readiness:
        checks besides the database and the broker; on_startup: before anything starts;
        closes: the service's own clients, closed after everything stopped (before the pool).
        verifier: when not one for auth's JWKS (`jwks_url`)."""
        settings, db = self.settings, self._db
        parts: dict[str, Any] = {"settings": settings}
        if db is not None:
            parts["db"] = db
        if self.events is not None and db is not None:
            from messaging_kit.events.relay import OutboxRelay

            parts["relay"] = OutboxRelay(
                db, self.events, settings.amqp_url, settings.events_exchange
            )
        parts.update(self._consumers(consumers or {}))
        parts.update(workers or {})
        running = [parts[name] for name in parts if name not in ("settings", "db")]
        checks: dict[str, ReadinessCheck] = {}
        if db is not None:
            checks["database"] = db.ping
        if getattr(settings, "amqp_url", None):
            checks["broker"] = lambda: broker_check(settings.amqp_url)
        checks.update(readiness or {})
        app = create_app(
            self.name,
            settings.service_version,
            routers=routers,
            readiness=checks,
            on_startup=[*on_startup, *(part.start for part in running)],
            # create_app runs these in reverse: stop workers, consumers, relay; then close.
            on_shutdown=[
                *([db.close] if db is not None else []),
                *closes,
                *(part.stop for part in running),
            ],
            description=description,
        )
        if verifier is None and getattr(settings, "jwks_url", None):
            verifier = TokenVerifier(
                JwksKeys(settings.jwks_url),
                issuer=settings.token_issuer,
                audience=settings.token_audience,
            )
        if verifier is not None:
            parts["verifier"] = verifier
        for name, value in {**parts, **(state or {})}.items():
            setattr(app.state, name, value)
        return app

    def _consumers(self, consumers: Mapping[str, Consumes]) -> dict[str, Any]:
        if not consumers:
            return {}
        from messaging_kit.events.consumer import EventConsumer

        settings, db, tables = self.settings, self.db, self.events
        assert tables is not None  # there is a db only with them
        return {
            name: EventConsumer(
                db,
                tables,
                settings.amqp_url,
                settings.events_exchange,
                spec.queue,
                dict(spec.handlers),
                skips=spec.skips,
                **spec.tuning,
            )
            for name, spec in consumers.items()
        }
