"""Forget handled webhook event ids once no platform would deliver them again; plan digests.

The ids make a redelivery a no-op; kept for ever they would only grow. Telegram keeps an
undelivered update for 24 hours and LINE redelivers within a day, so a week is ample.

Every user who wants the weekly digest and has none on its way gets one planned here: new
users, users from before the digest existed, and any whose row ended without planning the
next (it failed, or the user was away). One pass for all of them, instead of a hook in every
flow that could be the first (onboarding, the first interview, a LINE follow), keeps the rule
in one place; an hour's delay for a digest due days later is of no consequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.engine import Clock
from bot.logs import where_it_failed
from bot.tasks import finish
from handlers import digest
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

KEEP_EVENT_IDS = timedelta(days=7)
INTERVAL_SECONDS = 3600.0
DIGEST_BATCH = 200


class Housekeeping:
    """A service: once at start and then every hour, drops event ids older than a week and
    plans the weekly digests that are missing.

    A plain task rather than an APScheduler job: APScheduler 3 cancels a running job on
    shutdown without waiting for it, so the database could be closed under a sweep that was
    still unwinding. Here ``stop`` waits for the sweep, and nothing outlives the service.
    """

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
        self._stopping = asyncio.Event()
        self._first_pass = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping.clear()
        self._first_pass.clear()
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def first_pass_done(self) -> None:
        """Wait until the pass made at start has finished (for tests and orderly starts)."""
        await self._first_pass.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await finish(task)

    async def _run(self) -> None:
        while True:
            await self._tick()
            self._first_pass.set()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that arrives as the wait ends, and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._stopping.wait()
                return

    async def forget_old_events(self) -> int:
        """Drop event ids handled before the keep window; how many went."""
        async with self._uow_factory() as uow:
            forgotten = await uow.events.forget_before(self._clock() - self._keep)
            await uow.commit()
        return forgotten

    async def plan_digests(self) -> int:
        """Plan a weekly digest for each user who wants one and has none; how many were."""
        planned = last_id = 0
        while True:
            async with self._uow_factory() as uow:
                users = await uow.users.wanting_digest_without_one(DIGEST_BATCH, last_id)
                planned += await digest.plan_first_for(uow, users, self._clock())
                await uow.commit()
            if users:
                last_id = users[-1].id
            if len(users) < DIGEST_BATCH:
                return planned

    async def _tick(self) -> None:
        # Each chore on its own: one failing does not hold up the other.
        try:
            forgotten = await self.forget_old_events()
            if forgotten:
                log.info("housekeeping: %d old event ids forgotten", forgotten)
        except Exception as exc:
            log.error("housekeeping failed: %s", where_it_failed(exc))
        try:
            planned = await self.plan_digests()
            if planned:
                log.info("housekeeping: %d weekly digests planned", planned)
        except Exception as exc:
            log.error("planning weekly digests failed: %s", where_it_failed(exc))
