"""The dispatcher's life and one run: claim a batch, prepare it, push, record what happened.

A run is the only place the steps meet, in this order: the claim (``claims``, one
transaction), the decisions and the composing for the batch (``preparing``, one transaction),
the pushes with no transaction open (``sending``) and the outcomes (``outcomes``), where the
records of pushes that end together share one commit (``group_commit``). Different users'
rows go side by side, one user's in order: a batch is taken in rounds, the first row of each
user, then the second, and a round starts once the one before it has been pushed and
recorded. After every run, successful or not, the next wake-up is planned (``wakeups``); a
failed run (the database away) is retried after a pause rather than in a tight loop on rows
that are already overdue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.engine import Clock
from bot.reminders.claims import Claim, Claims
from bot.reminders.group_commit import Turns
from bot.reminders.outcomes import Outcomes, RunMemory, error_name
from bot.reminders.preparing import Preparer
from bot.reminders.sending import Delivery, Sender, Sleep
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
# Rows claimed, and prepared, together.
BATCH_SIZE = 50
# Users pushed to side by side. Many, so that pushes which return at once are recorded in
# few commits; a platform's own rate limiter (Telegram's bot-wide pace, LINE's) still holds
# the total under its limit, however many wait for it.
CONCURRENCY = 50


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
        batch_size: int = BATCH_SIZE,
        concurrency: int = CONCURRENCY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._metrics = metrics
        self.worker_id = worker_id
        self._concurrency = concurrency
        # Every transaction of this dispatcher, one at a time (see ``group_commit``).
        turns = Turns(uow_factory)
        self.claims = Claims(
            turns,
            clock,
            pushers,
            worker_id=worker_id,
            max_attempts=max_attempts,
            batch_size=batch_size,
        )
        self._preparer = Preparer(
            turns, catalog, clock, kinds, self._count, worker_id=worker_id, pushers=pushers
        )
        self._sender = Sender(
            pushers,
            sleep,
            None if metrics is None else (lambda ch: metrics.channel_errors.labels(ch).inc()),
        )
        self._outcomes = Outcomes(
            turns,
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
        """Send a batch in rounds: each user's first row, then each user's second, and so on."""
        sent = 0
        # Users whose row broke off with an error: their later rows stay claimed too, so
        # that all come back together, in order, after the lease.
        broken: set[int] = set()
        for group in _rounds(claims):
            group = [c for c in group if c.user_id not in broken]
            try:
                sent += await self._handle_round(group, run, broken)
            except Exception as exc:
                broken.update(c.user_id for c in group)
                # The rows stay claimed and come back after the lease; the run goes on.
                log.error("a reminder batch part failed: %s", error_name(exc))
        return sent

    async def _handle_round(self, claims: list[Claim], run: RunMemory, broken: set[int]) -> int:
        """Prepare rows of different users together, then push them side by side.

        One at a time, a platform's round trip (not its rate limit) would set the pace;
        the channel's own rate limiter still holds the total under the platform's limit.
        """
        live: list[Claim] = []
        for claim in claims:
            if self._stopping:
                await self._outcomes.requeue(claim, self._clock(), "stopping")
            elif claim.user_id in run.gone_users:
                await self._outcomes.end(claim, ReminderState.PAUSED, "paused")
            else:
                live.append(claim)
        deliveries, failed = await self._preparer.prepare_batch(live, run)
        for claim, exc in failed:
            log.error("reminder %s could not be prepared: %s", claim.id, error_name(exc))
            await self._outcomes.retry_later(claim, exc, None, run)
        slots = asyncio.Semaphore(self._concurrency)

        async def deliver(delivery: Delivery) -> int:
            async with slots:
                return await self._deliver(delivery, run)

        results = await asyncio.gather(*(deliver(d) for d in deliveries), return_exceptions=True)
        for delivery, result in zip(deliveries, results, strict=True):
            if isinstance(result, BaseException):
                broken.add(delivery.claim.user_id)
                # The row stays claimed and comes back after the lease; the run goes on.
                log.error("a reminder batch part failed: %s", error_name(result))
        return sum(r for r in results if isinstance(r, int))

    async def _deliver(self, delivery: Delivery, run: RunMemory) -> int:
        claim = delivery.claim
        now = self._clock()
        if self._stopping:
            await self._outcomes.requeue(claim, now, "stopping")
            return 0
        until = run.cooldown.get(delivery.channel)
        if until is not None and until > now:
            # The channel started throttling or failing while this row waited for its turn.
            await self._outcomes.requeue(claim, until, "throttled")
            return 0
        marked: bool | None = None

        async def record_part(parts: int, last: bool) -> bool:
            nonlocal marked
            kept = await self._outcomes.part_sent(claim, parts, last=last)
            if last:
                marked = kept
            return kept

        error = await self._sender.push(delivery, record_part)
        return await self._outcomes.record(claim, error, delivery.channel, run, marked=marked)

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.reminders.labels(outcome=outcome).inc()


def _rounds(claims: list[Claim]) -> list[list[Claim]]:
    """Split a batch (in due order) into rounds with at most one row of each user each."""
    rounds: list[list[Claim]] = []
    seen: dict[int, int] = {}
    for claim in claims:
        index = seen.get(claim.user_id, 0)
        seen[claim.user_id] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(claim)
    return rounds
