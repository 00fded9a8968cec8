"""The one composition root: database, catalogs, engine, scheduler and channels."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.engine import Clock, Engine, system_clock
from bot.protocol import Pusher
from bot.web import Metrics, WebServer
from messages.catalog import Catalog, load_catalog
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class Service(Protocol):
    """Something with a life: started after the app is built, stopped in reverse order."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Renraku:
    """Everything wired together; ``start``/``stop`` run its services in order."""

    settings: Settings
    db: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    catalog: Catalog
    engine: Engine
    metrics: Metrics
    clock: Clock
    web: WebServer | None = None
    pushers: dict[str, Pusher] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    _started: list[Service] = field(default_factory=list)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    async def start(self) -> None:
        for service in self.services:
            await service.start()
            self._started.append(service)

    async def stop(self) -> None:
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("stopping %s failed", type(service).__name__)
        await self.db.dispose()


def uow_factory(session_factory: async_sessionmaker[AsyncSession]) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(session_factory)


async def bootstrap(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    migrate: bool = True,
    with_channels: bool = True,
) -> Renraku:
    """Build the app for these settings. Nothing connects to a platform until ``start``."""
    if migrate:
        await upgrade(settings.database_url)
    db = create_engine(settings.database_url)
    session_factory = create_session_factory(db)
    catalog = load_catalog()
    engine = Engine(
        uow_factory(session_factory),
        catalog,
        default_timezone=settings.default_timezone,
        clock=clock,
    )
    metrics = Metrics()
    app = Renraku(
        settings=settings,
        db=db,
        session_factory=session_factory,
        catalog=catalog,
        engine=engine,
        metrics=metrics,
        clock=clock,
    )
    if with_channels:
        _add_channels(app)
    return app


def _needs_web(settings: Settings) -> bool:
    return settings.line_enabled or (
        settings.telegram_enabled and settings.telegram_webhook_url is not None
    )


def _add_channels(app: Renraku) -> None:
    settings = app.settings
    if _needs_web(settings):
        app.web = WebServer(settings.host, settings.port, app.metrics)
    # Channels register their routes on app.web before it starts, so it comes last.
    if app.web is not None:
        app.services.append(app.web)
