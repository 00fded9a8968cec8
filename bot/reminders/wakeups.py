"""When the dispatcher runs: at the next due time, on every ``wake()``, and on a safety tick.

APScheduler keeps two jobs in memory, and both only wake the dispatcher; the rows stay the
truth. One job is at the next due time, re-planned after every run, so a row due in an hour
costs nothing until then. The other is a periodic safety tick: it catches rows freed from a
crashed worker's lease and rows another process wrote without telling this one. A wake-up
that is lost (a crash, a restart) costs at most one tick, because the rows are still due.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

NEXT_DUE_JOB = "reminders-next-due"
SAFETY_JOB = "reminders-safety-tick"


class Wakeups:
    """The two APScheduler jobs that call ``wake`` (the dispatcher's own)."""

    def __init__(self, wake: Callable[[], Awaitable[None]], *, safety_interval: float) -> None:
        self._wake = wake
        self._safety_interval = safety_interval
        self._scheduler: AsyncIOScheduler | None = None
        self._log = logging.getLogger(f"{__name__}.apscheduler")
        self._log.setLevel(logging.WARNING)

    def start(self) -> None:
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            # Re-planning adds a job on every wake-up; at INFO that is a line a minute.
            logger=self._log,
            # A wake-up that comes late still runs: a missed one would only delay reminders.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(self._wake, "interval", seconds=self._safety_interval, id=SAFETY_JOB)
        scheduler.start()
        self._scheduler = scheduler

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    def plan(self, delay: float | None) -> None:
        """Wake in ``delay`` seconds of wall-clock time; None: no row is waiting."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        if delay is None:
            if scheduler.get_job(NEXT_DUE_JOB) is not None:
                scheduler.remove_job(NEXT_DUE_JOB)
            return
        scheduler.add_job(
            self._wake,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=max(0.0, delay)),
            id=NEXT_DUE_JOB,
            replace_existing=True,
        )

    def next_at(self) -> datetime | None:
        """Return the wall-clock time of the planned due-time wake-up, if any."""
        job = self._scheduler.get_job(NEXT_DUE_JOB) if self._scheduler is not None else None
        planned: datetime | None = job.next_run_time if job is not None else None
        return planned
