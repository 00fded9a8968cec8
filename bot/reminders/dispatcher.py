"""The dispatcher's life and one run: claim a batch, then prepare, push, record each row.

A run is the only place the steps meet, in this order and each in its own transaction:
the claim (``claims``), then per row the decision and the composing (``preparing``), the push
with no transaction open (``sending``) and the row's outcome (``outcomes``). Different users'
rows go side by side, one user's in order. After every run, successful or not, the next
wake-up is planned (``wakeups``); a failed run (the database away) is retried after a pause
rather than in a tight loop on rows that are already overdue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.engine import Clock
from bot.reminders.claims import Claim, Claims
from bot.reminders.outcomes import Outcomes, RunMemory, error_name
from bot.reminders.preparing import Preparer
from bot.reminders.sending import Sender, Sleep
from bot.reminders.wakeups import Wakeups
from bot.tasks import finish
from bot.web import Metrics
from domain.protocol import Pusher
from handlers import followup
from handlers.reminder_kinds import ReminderKinds
from messages.catalog import Catalog
from storage.models import ReminderState
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_BATCHES_PER_RUN = 100
PAUSE_AFTER_FAILED_RUN = 5.0


class ReminderDispatcher:
    """Sends due reminders, once each, through the channel of each user."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        catalog: Catalog,
        pushers: Mapping[str, Pusher],
        clock: Clock,
        metrics: Metrics | None,
        *,
        worker_id: str,
        kinds: ReminderKinds = followup.KINDS,
        safety_interval: float = 60.0,
        max_attempts: int = 5,
        batch_size: int = 50,
        concurrency: int = 8,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._metrics = metrics
        self.worker_id = worker_id
        self._concurrency = concurrency
        self.claims = Claims(
            uow_factory,
            clock,
            pushers,
            worker_id=worker_id,
            max_attempts=max_attempts,
            batch_size=batch_size,
        )
        self._preparer = Preparer(
            uow_factory, catalog, clock, kinds, self._count, worker_id=worker_id, pushers=pushers
        )
        self._sender = Sender(
            pushers,
            sleep,
            None if metrics is None else (lambda ch: metrics.channel_errors.labels(ch).inc()),
        )
        self._outcomes = Outcomes(
            uow_factory,
            catalog,
            clock,
            kinds,
            self._count,
            worker_id=worker_id,
            max_attempts=max_attempts,
        )
        self._wakeups = Wakeups(self._wake_job, safety_interval=safety_interval)
        self._worker: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._run_lock = asyncio.Lock()

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the wake-ups and run at once, for whatever fell due while the bot was down."""
        self._stopping = False
        self._wakeups.start()
        self._worker = asyncio.create_task(self._work(), name="reminder-dispatcher")
        self.wake()

    async def stop(self) -> None:
        """Stop waking; let a run in progress finish its current row, then end."""
        self._stopping = True
        self._wakeups.stop()
        worker, self._worker = self._worker, None
        if worker is None:
            return
        self._kick.set()
        await finish(worker)
        self._idle.set()

    def wake(self) -> None:
        """Run soon and re-plan the next wake-up; cheap, never blocks, a no-op before start."""
        if self._worker is None or self._stopping:
            return
        self._idle.clear()
        self._kick.set()

    def alive(self) -> bool:
        """True while started and neither the wake-ups nor the worker task have died."""
        worker = self._worker
        return self._wakeups.running and worker is not None and not worker.done()

    async def wait_idle(self) -> None:
        """Wait until every requested run has finished (for tests and orderly shutdowns)."""
        await self._idle.wait()

    def next_wake_at(self) -> datetime | None:
        """Return the wall-clock time of the planned due-time wake-up, if any."""
        return self._wakeups.next_at()

    async def _wake_job(self) -> None:
        self.wake()

    async def _work(self) -> None:
        while not self._stopping:
            await self._kick.wait()
            self._kick.clear()
            if self._stopping:
                break
            pause = 0.0
            try:
                await self.run_due()
            except Exception as exc:
                log.error("reminder run failed: %s", error_name(exc))
                pause = PAUSE_AFTER_FAILED_RUN
            try:
                await self._plan_next(pause)
            except Exception as exc:
                log.error("planning the next reminder wake-up failed: %s", error_name(exc))
            if not self._kick.is_set():
                self._idle.set()

    async def _plan_next(self, at_least: float) -> None:
        due = await self.claims.next_due()
        if self._stopping:
            return
        # APScheduler counts wall-clock time; the delay comes from the app's clock, so an
        # injected clock (tests, a replayed day) plans the same way.
        delay = None if due is None else max(at_least, (due - self._clock()).total_seconds())
        self._wakeups.plan(delay)

    # --- one run --------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Claim the due reminders and send them; return how many were sent."""
        async with self._run_lock:
            await self.claims.report_unserved()
            run = RunMemory()
            sent = 0
            for _ in range(MAX_BATCHES_PER_RUN):
                claims = await self.claims.take()
                sent += await self._handle_batch(claims, run)
                if len(claims) < self.claims.batch_size or self._stopping:
                    break
            if self._metrics is not None:
                self._metrics.reminder_passes.inc()
            return sent

    async def _handle_batch(self, claims: list[Claim], run: RunMemory) -> int:
        """Send a batch: different users side by side, each user's reminders in order.

        One at a time, a platform's round trip (not its rate limit) would set the pace;
        the channel's own rate limiter still holds the total under the platform's limit.
        """
        by_user: dict[int, list[Claim]] = {}
        for claim in claims:
            by_user.setdefault(claim.user_id, []).append(claim)
        slots = asyncio.Semaphore(self._concurrency)

        async def for_user(own: list[Claim]) -> int:
            async with slots:
                return sum([await self._handle(claim, run) for claim in own])

        results = await asyncio.gather(
            *(for_user(own) for own in by_user.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                # The rows stay claimed and come back after the lease; the run goes on.
                log.error("a reminder batch part failed: %s", error_name(result))
        return sum(r for r in results if isinstance(r, int))

    async def _handle(self, claim: Claim, run: RunMemory) -> int:
        if self._stopping:
            await self._outcomes.requeue(claim, self._clock(), "stopping")
            return 0
        if claim.user_id in run.gone_users:
            await self._outcomes.end(claim, ReminderState.PAUSED, "paused")
            return 0
        try:
            delivery = await self._preparer.prepare(claim, run)
        except Exception as exc:
            log.error("reminder %s could not be prepared: %s", claim.id, error_name(exc))
            await self._outcomes.retry_later(claim, exc, None, run)
            return 0
        if delivery is None:
            return 0

        async def record_part(parts: int) -> bool:
            return await self._outcomes.part_sent(claim, parts)

        error = await self._sender.push(delivery, record_part)
        return await self._outcomes.record(claim, error, delivery.channel, run)

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.reminders.labels(outcome=outcome).inc()
