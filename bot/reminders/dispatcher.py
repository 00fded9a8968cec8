"""The dispatcher's life and one run: claim a batch, prepare it, push, record what happened.

A run is the only place the steps meet, in this order: the claim (``claims``, one
transaction a batch), the decisions and the composing (``preparing``, one transaction for
the rows prepared together), the pushes with no transaction open (``sending``) and the
outcomes (``outcomes``), where the records of pushes that end together share one commit
(``group_commit``). Different users' rows go side by side, one user's in order: a user's row
is prepared only once the row before it is out and recorded. The next batch is claimed and
prepared while the one before it is being pushed, so a paced channel never waits for it.
After every run, successful or not, the next wake-up is planned (``wakeups``); a failed run
(the database away) is retried after a pause rather than in a tight loop on rows that are
already overdue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial

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
# Pushes a run starts with; one more opens each time one ends (``_Slots``).
FIRST_SLOTS = 8


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
            run = _Run(self)
            try:
                for _ in range(MAX_BATCHES_PER_RUN):
                    claims = await self.claims.take()
                    run.add(claims)
                    # The next batch is claimed and prepared while this one is out.
                    await run.advance()
                    if len(claims) < self.claims.batch_size or self._stopping:
                        break
                await run.drain()
            except BaseException as exc:
                # Nothing of a failed run goes on once it is over: the rows not yet out stay
                # claimed (they come back after the lease), the pushes out are let finish,
                # or, when the run itself is cancelled, cancelled too.
                await run.abandon(cancel=isinstance(exc, asyncio.CancelledError))
                raise
            if self._metrics is not None:
                self._metrics.reminder_passes.inc()
            return run.sent

    async def _prepare(self, claims: list[Claim], run: _Run) -> list[Delivery]:
        """Settle the rows that do not go out now; prepare the others (different users')."""
        live: list[Claim] = []
        for claim in claims:
            if self._stopping:
                await self._outcomes.requeue(claim, self._clock(), "stopping")
            elif claim.user_id in run.memory.gone_users:
                await self._outcomes.end(claim, ReminderState.PAUSED, "paused")
            else:
                live.append(claim)
        deliveries, failed = await self._preparer.prepare_batch(live, run.memory)
        for claim, exc in failed:
            log.error("reminder %s could not be prepared: %s", claim.id, error_name(exc))
            await self._outcomes.retry_later(claim, exc, None, run.memory)
        return deliveries

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


class _Slots:
    """At most ``limit`` pushes at once, opened a few at a time.

    A run starts with a few and opens one more each time a push ends, up to the limit: pushes
    that return at once soon run by the dozen, and the first moment of a run does not set a
    crowd of pushes going at a paced channel together (their start, rendering included, would
    hold up the first one's request and bunch the first requests at the platform).
    """

    def __init__(self, limit: int, start: int = FIRST_SLOTS) -> None:
        self._limit = max(1, limit)
        self._open = min(self._limit, max(1, start))
        self._free = asyncio.Semaphore(self._open)

    async def acquire(self) -> None:
        await self._free.acquire()

    def release(self) -> None:
        self._free.release()
        if self._open < self._limit:
            self._open += 1
            self._free.release()


class _Run:
    """One run's rows: claimed and waiting for their user, or out being pushed.

    A user's rows go one at a time, in due order: a row is prepared only once the user's row
    before it has been pushed and recorded (what that one changed, a nudge counted, counts
    for the next). The rows of users who are free are prepared together, then pushed side by
    side, as many at once as there are slots.
    """

    def __init__(self, dispatcher: ReminderDispatcher) -> None:
        self._dispatcher = dispatcher
        self.memory = RunMemory()
        self.sent = 0
        self._slots = _Slots(dispatcher._concurrency)
        # Claimed rows not yet prepared, per user, in due order.
        self._waiting: dict[int, deque[Claim]] = {}
        # Users with a row out, and the pushes themselves.
        self._busy: set[int] = set()
        self._pushes: set[asyncio.Task[int]] = set()
        # Users whose row broke off with an error: their later rows stay claimed too, so
        # that all come back together, in order, after the lease.
        self._broken: set[int] = set()
        self._changed = asyncio.Event()

    def add(self, claims: list[Claim]) -> None:
        for claim in claims:
            if claim.user_id not in self._broken:
                self._waiting.setdefault(claim.user_id, deque()).append(claim)

    async def advance(self) -> None:
        """Prepare the next row of every free user and set it going; return once all have."""
        while group := self._next_group():
            try:
                deliveries = await self._dispatcher._prepare(group, self)
            except Exception as exc:
                self._break(group, exc)
                continue
            for delivery in deliveries:
                await self._slots.acquire()
                self._go(delivery)

    async def drain(self) -> None:
        """Wait for every push; rows that wait for their user go out in their turn."""
        while self._pushes or self._next_ready():
            self._changed.clear()
            if self._next_ready():
                await self.advance()
            elif self._pushes:
                await self._changed.wait()

    async def abandon(self, *, cancel: bool) -> None:
        """End a failed run: prepare nothing more, and wait for (or cancel) what is out."""
        self._waiting.clear()
        pushes = list(self._pushes)
        if cancel:
            for push in pushes:
                push.cancel()
        await asyncio.gather(*pushes, return_exceptions=True)

    def _next_ready(self) -> bool:
        return any(user not in self._busy for user in self._waiting)

    def _next_group(self) -> list[Claim]:
        group: list[Claim] = []
        for user in [u for u in self._waiting if u not in self._busy]:
            own = self._waiting[user]
            group.append(own.popleft())
            if not own:
                del self._waiting[user]
        return group

    def _go(self, delivery: Delivery) -> None:
        user = delivery.claim.user_id
        self._busy.add(user)
        push = asyncio.create_task(self._dispatcher._deliver(delivery, self.memory))
        self._pushes.add(push)
        push.add_done_callback(partial(self._done, user))

    def _done(self, user: int, push: asyncio.Task[int]) -> None:
        self._pushes.discard(push)
        self._busy.discard(user)
        self._slots.release()
        self._changed.set()
        if push.cancelled():
            self._break([], asyncio.CancelledError(), user)
            return
        error = push.exception()
        if error is not None:
            self._break([], error, user)
            return
        self.sent += push.result()

    def _break(self, claims: list[Claim], error: BaseException, *users: int) -> None:
        broken = {c.user_id for c in claims} | set(users)
        self._broken |= broken
        for user in broken:
            self._waiting.pop(user, None)
        # The rows stay claimed and come back after the lease; the run goes on.
        log.error("a reminder batch part failed: %s", error_name(error))
