"""The one composition root: database, catalogs, engine, scheduler and channels."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.downloads import DownloadStore
from bot.engine import Clock, Engine, system_clock
from bot.housekeeping import Housekeeping
from bot.inbox import DurableInbox
from bot.logs import where_it_failed
from bot.reminders import ReminderDispatcher
from bot.web import HealthCheck, Metrics, WebServer
from domain.protocol import Pusher
from handlers.router import COMMANDS
from messages.catalog import DEFAULT_LOCALE, LOCALES, Catalog, load_catalog
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
    downloads: DownloadStore | None = None
    dispatcher: ReminderDispatcher | None = None
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
            except Exception as exc:
                log.error("stopping %s failed: %s", type(service).__name__, where_it_failed(exc))
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
    # The same pushers dict as the app's, so channels registered later are served too.
    app.dispatcher = ReminderDispatcher(
        uow_factory(session_factory),
        catalog,
        app.pushers,
        clock,
        metrics,
        worker_id=worker_id(),
    )
    engine.set_reminders_listener(app.dispatcher.wake)
    engine.set_failure_listener(lambda channel: metrics.channel_errors.labels(channel).inc())
    if with_channels:
        _add_channels(app)
    return app


def worker_id() -> str:
    """Name this process in reminder claims (the column holds 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def health_checks(app: Renraku) -> dict[str, HealthCheck]:
    """What /healthz asks: the database answers, and reminders are still being sent."""

    async def database() -> bool:
        # Autocommit: a probe should not queue behind a writer for SQLite's write lock.
        async with app.db.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("SELECT 1"))
        return True

    async def reminders() -> bool:
        return app.dispatcher is not None and app.dispatcher.alive()

    return {"database": database, "reminders": reminders}


def _add_channels(app: Renraku) -> None:
    settings = app.settings
    # Always served when channels run: /healthz and /metrics matter in polling mode too.
    app.web = WebServer(settings.host, settings.port, app.metrics, health_checks(app))
    inbox = DurableInbox(uow_factory(app.session_factory), app.clock, app.metrics)
    if settings.public_base_url is not None:
        # Links for what a channel cannot send itself (files and images on LINE).
        app.downloads = DownloadStore(
            uow_factory(app.session_factory), app.catalog, app.clock, settings.public_base_url
        )
        app.downloads.add_routes(app.web)
    # Each SDK is imported only when its channel is on: line-bot-sdk alone adds ~30 MiB.
    if settings.line_enabled:
        from bot.channels.line import CHANNEL as LINE
        from bot.channels.line import LineChannel

        line = LineChannel(
            app.engine.handle,
            settings,
            web=app.web,
            metrics=app.metrics,
            inbox=inbox,
            downloads=app.downloads,
        )
        app.services.append(line)
        app.pushers[LINE] = line
    telegram: Service | None = None
    if settings.telegram_enabled:
        from bot.channels.telegram import CHANNEL as TELEGRAM
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(
            app.engine.handle,
            settings,
            command_menus={
                locale: [(name, app.catalog.text(locale, f"commands.{name}")) for name in COMMANDS]
                for locale in LOCALES
            },
            default_locale=DEFAULT_LOCALE,
            web=app.web,
            metrics=app.metrics,
            inbox=inbox,
        )
        app.pushers[TELEGRAM] = telegram
    # Channels register their routes on app.web before it starts, so it comes after them.
    app.services.append(app.web)
    if telegram is not None:
        # Started after the web server, so setWebhook finds /webhook/telegram listening.
        app.services.append(telegram)
    # Last: reminders go out once every channel that pushes them is up.
    if app.dispatcher is not None:
        app.services.append(app.dispatcher)
    # After everything that serves users: its first pass (digests for every user who has
    # none) is chores, and must not hold up the channels' start on a large database.
    app.services.append(Housekeeping(uow_factory(app.session_factory), app.clock))
