"""Forget handled webhook event ids once no platform would deliver them again.

The ids make a redelivery a no-op; kept for ever they would only grow. Telegram keeps an
undelivered update for 24 hours and LINE redelivers within a day, so a week is ample.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine import Clock
from bot.logs import where_it_failed
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

KEEP_EVENT_IDS = timedelta(days=7)
INTERVAL_SECONDS = 3600.0


class Housekeeping:
    """A service: every hour (and once at start) drops event ids older than a week."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        *,
        keep: timedelta = KEEP_EVENT_IDS,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._keep = keep
        self._interval = interval
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self._interval,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def forget_old_events(self) -> int:
        """Drop event ids handled before the keep window; how many went."""
        async with self._uow_factory() as uow:
            forgotten = await uow.events.forget_before(self._clock() - self._keep)
            await uow.commit()
        return forgotten

    async def _tick(self) -> None:
        try:
            forgotten = await self.forget_old_events()
        except Exception as exc:
            log.error("housekeeping failed: %s", where_it_failed(exc))
            return
        if forgotten:
            log.info("housekeeping: %d old event ids forgotten", forgotten)
