"""The reminder dispatcher: APScheduler wakes it, it claims due rows and sends them.

Reminders are rows; nothing important lives only in memory. APScheduler keeps two jobs in
memory, both of which only wake the dispatcher: one at the next due time (re-planned after
every run and on every ``wake()``) and a periodic safety tick that also catches rows freed
from a crashed worker's lease. Each run claims due rows in one short transaction, so a row
is sent by one worker only, even with several processes on one database, and a row that
fell due while the bot was down is simply due when it starts.

Per row: renew the claim and compose (one transaction), push (no transaction open), record
the outcome (another transaction). Every fault of a channel ends in the row's state:
sent, rescheduled with backoff, paused (recipient gone) or failed; none stops the dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from bot.engine import Clock
from bot.tasks import finish
from bot.web import Metrics
from domain.protocol import PermanentFailure, Pusher, RecipientGone, Reply, RetryLater
from handlers import followup
from handlers.context import Context
from messages.catalog import Catalog
from storage.models import ReminderState, User
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died or hung; its rows go back.
LEASE = timedelta(minutes=5)
# A push that hangs longer than this is treated like a timeout reported by the channel.
PUSH_TIMEOUT = 60.0
# Short waits are done in place; anything longer goes back to the queue as a due time, so
# one slow platform cannot hold a batch (or a lease) for long.
IN_PROCESS_TRIES = 3
IN_PROCESS_FIRST_WAIT = 1.0
IN_PROCESS_MAX_WAIT = 5.0
ROW_BACKOFF_FIRST = 60.0
ROW_BACKOFF_MAX = 3600.0
MAX_BATCHES_PER_RUN = 100
PAUSE_AFTER_FAILED_RUN = 5.0

NEXT_DUE_JOB = "reminders-next-due"
SAFETY_JOB = "reminders-safety-tick"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the claim returned, detached from its session."""

    id: int
    user_id: int
    interview_id: int
    kind: str
    attempts: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class _Delivery:
    claim: _Claim
    channel: str
    external_id: str
    replies: list[Reply]


@dataclass
class _Run:
    """What one run learnt about channels and users, so later rows do not repeat a fault."""

    gone_users: set[int] = field(default_factory=set)
    cooldown: dict[str, datetime] = field(default_factory=dict)


def _error_name(error: BaseException) -> str:
    # Only the class: a channel's exception text may quote the message or the chat id.
    return type(error).__name__


def _requested_wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, RetryLater) and error.retry_after is not None:
        return max(0.0, float(error.retry_after))
    return min(IN_PROCESS_FIRST_WAIT * 2.0 ** (state.attempt_number - 1), IN_PROCESS_MAX_WAIT)


def _give_up_in_place(state: RetryCallState) -> bool:
    return state.attempt_number >= IN_PROCESS_TRIES or _requested_wait(state) > IN_PROCESS_MAX_WAIT


def row_backoff(attempts: int) -> float:
    """Return the seconds before a row that failed ``attempts`` times is tried again."""
    return min(ROW_BACKOFF_FIRST * 2.0 ** max(attempts - 1, 0), ROW_BACKOFF_MAX)


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
        safety_interval: float = 60.0,
        max_attempts: int = 5,
        batch_size: int = 50,
        concurrency: int = 8,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._uow_factory = uow_factory
        self._catalog = catalog
        # Kept, not copied: channels registered after construction (the console) count too.
        self._pushers = pushers
        self._clock = clock
        self._metrics = metrics
        self.worker_id = worker_id
        self._safety_interval = safety_interval
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._sleep = sleep
        self._scheduler: AsyncIOScheduler | None = None
        self._worker: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._run_lock = asyncio.Lock()
        self._unserved_reported: set[str] = set()
        self._scheduler_log = logging.getLogger(f"{__name__}.apscheduler")
        self._scheduler_log.setLevel(logging.WARNING)

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the wake-ups and run at once, for whatever fell due while the bot was down."""
        self._stopping = False
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            # Re-planning adds a job on every wake-up; at INFO that is a line a minute.
            logger=self._scheduler_log,
            # A wake-up that comes late still runs: a missed one would only delay reminders.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(self._wake_job, "interval", seconds=self._safety_interval, id=SAFETY_JOB)
        scheduler.start()
        self._scheduler = scheduler
        self._worker = asyncio.create_task(self._work(), name="reminder-dispatcher")
        self.wake()

    async def stop(self) -> None:
        """Stop waking; let a run in progress finish its current row, then end."""
        self._stopping = True
        if self._scheduler is not None:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
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
        scheduler, worker = self._scheduler, self._worker
        return (
            scheduler is not None and scheduler.running and worker is not None and not worker.done()
        )

    async def wait_idle(self) -> None:
        """Wait until every requested run has finished (for tests and orderly shutdowns)."""
        await self._idle.wait()

    def next_wake_at(self) -> datetime | None:
        """Return the wall-clock time of the planned due-time wake-up, if any."""
        job = self._scheduler.get_job(NEXT_DUE_JOB) if self._scheduler is not None else None
        planned: datetime | None = job.next_run_time if job is not None else None
        return planned

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
                # The database may be away for a moment: try again soon, but not in a tight
                # loop on rows that are already overdue.
                log.error("reminder run failed: %s", _error_name(exc))
                pause = PAUSE_AFTER_FAILED_RUN
            try:
                await self._plan_next(pause)
            except Exception as exc:
                log.error("planning the next reminder wake-up failed: %s", _error_name(exc))
            if not self._kick.is_set():
                self._idle.set()

    async def _plan_next(self, at_least: float = 0.0) -> None:
        async with self._uow_factory() as uow:
            due = await uow.queue.next_due(
                channels=list(self._pushers), max_attempts=self._max_attempts
            )
        scheduler = self._scheduler
        if scheduler is None or self._stopping:
            return
        if due is None:
            if scheduler.get_job(NEXT_DUE_JOB) is not None:
                scheduler.remove_job(NEXT_DUE_JOB)
            return
        # APScheduler counts wall-clock time; the delay comes from the app's clock, so an
        # injected clock (tests, a replayed day) plans the same way.
        delay = max(at_least, (due - self._clock()).total_seconds())
        scheduler.add_job(
            self._wake_job,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=delay),
            id=NEXT_DUE_JOB,
            replace_existing=True,
        )

    # --- one run --------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Claim the due reminders and send them; return how many were sent."""
        async with self._run_lock:
            await self._report_unserved_channels()
            run = _Run()
            sent = 0
            for _ in range(MAX_BATCHES_PER_RUN):
                claims = await self._claim()
                sent += await self._handle_batch(claims, run)
                if len(claims) < self._batch_size or self._stopping:
                    break
            return sent

    async def _handle_batch(self, claims: list[_Claim], run: _Run) -> int:
        """Send a batch: different users side by side, each user's reminders in order.

        One at a time, a platform's round trip (not its rate limit) would set the pace;
        the channel's own rate limiter still holds the total under the platform's limit.
        """
        by_user: dict[int, list[_Claim]] = {}
        for claim in claims:
            by_user.setdefault(claim.user_id, []).append(claim)
        slots = asyncio.Semaphore(self._concurrency)

        async def for_user(own: list[_Claim]) -> int:
            async with slots:
                return sum([await self._handle(claim, run) for claim in own])

        results = await asyncio.gather(
            *(for_user(own) for own in by_user.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                # The rows stay claimed and come back after the lease; the run goes on.
                log.error("a reminder batch part failed: %s", _error_name(result))
        return sum(r for r in results if isinstance(r, int))

    async def _report_unserved_channels(self) -> None:
        async with self._uow_factory() as uow:
            channels = await uow.queue.due_channels(self._clock())
        for channel in sorted(channels - set(self._pushers) - self._unserved_reported):
            log.warning("reminders for channel %s wait: no sender for it in this process", channel)
            self._unserved_reported.add(channel)

    async def _claim(self) -> list[_Claim]:
        async with self._uow_factory() as uow:
            now = self._clock()
            released = await uow.queue.release_stale(now - LEASE)
            rows = await uow.queue.claim_due(
                now,
                self.worker_id,
                channels=list(self._pushers),
                max_attempts=self._max_attempts,
                limit=self._batch_size,
            )
            claims = [
                _Claim(r.id, r.user_id, r.interview_id, r.kind, r.attempts, r.idempotency_key)
                for r in rows
            ]
            await uow.commit()
        if released:
            log.warning("%d reminders taken back from an expired claim", released)
        return claims

    async def _handle(self, claim: _Claim, run: _Run) -> int:
        if self._stopping:
            await self._requeue(claim, self._clock(), "stopping")
            return 0
        if claim.user_id in run.gone_users:
            await self._end(claim, ReminderState.PAUSED, "paused")
            return 0
        try:
            delivery = await self._prepare(claim, run)
        except Exception as exc:
            log.error("reminder %s could not be prepared: %s", claim.id, _error_name(exc))
            await self._retry_later(claim, exc, None, run)
            return 0
        if delivery is None:
            return 0
        error = await self._push(delivery)
        if error is None:
            return await self._mark_sent(claim)
        if isinstance(error, RecipientGone):
            run.gone_users.add(claim.user_id)
            await self._recipient_gone(claim)
        elif isinstance(error, PermanentFailure):
            await self._fail(claim, error, claim.attempts + 1)
        else:
            await self._retry_later(claim, error, delivery.channel, run)
        return 0

    async def _prepare(self, claim: _Claim, run: _Run) -> _Delivery | None:
        """Renew the claim, decide whether the reminder still goes out, and compose it."""
        async with self._uow_factory() as uow:
            now = self._clock()
            # The renewal is this transaction's first statement and a write, so on SQLite it
            # takes the write lock up front instead of failing to upgrade a read later.
            if not await uow.queue.renew(claim.id, self.worker_id, now):
                log.warning("reminder %s: claim lost before sending", claim.id)
                return None
            user = await uow.users.get(claim.user_id)
            interview = await uow.interviews.owned(claim.user_id, claim.interview_id)
            if user is None or interview is None:
                await uow.queue.finish(claim.id, self.worker_id, ReminderState.CANCELLED)
                await uow.commit()
                self._count("cancelled")
                return None
            ctx = self._context(uow, user, now)
            reason = followup.hold(ctx, interview, claim.kind)
            if reason is not None:
                await self._hold(uow, claim, ctx, reason)
                await uow.commit()
                self._count(reason.value)
                return None
            until = run.cooldown.get(user.channel)
            if until is not None and until > now:
                await uow.queue.reschedule(claim.id, self.worker_id, until)
                await uow.commit()
                self._count("throttled")
                return None
            replies = await followup.compose(ctx, interview, claim.kind)
            delivery = _Delivery(claim, user.channel, user.external_id, replies)
            await uow.commit()
            return delivery

    async def _hold(
        self, uow: UnitOfWork, claim: _Claim, ctx: Context, reason: followup.Hold
    ) -> None:
        if reason is followup.Hold.DEFER:
            await uow.queue.reschedule(claim.id, self.worker_id, followup.resume_at(ctx))
            return
        state = ReminderState.PAUSED if reason is followup.Hold.PAUSE else ReminderState.CANCELLED
        await uow.queue.finish(claim.id, self.worker_id, state)

    def _context(self, uow: UnitOfWork, user: User, now: datetime) -> Context:
        return Context(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)

    async def _push(self, delivery: _Delivery) -> Exception | None:
        """Push with short in-place retries; return the last error, or None once delivered."""
        pusher = self._pushers.get(delivery.channel)
        if pusher is None:
            return RetryLater("no sender for this channel")
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=_give_up_in_place,
            wait=_requested_wait,
            retry=retry_if_exception_type(RetryLater),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._push_once(pusher, delivery)
        except Exception as exc:
            # Whatever a channel raises, even a bug, ends up in the row's state.
            return exc
        return None

    async def _push_once(self, pusher: Pusher, delivery: _Delivery) -> None:
        try:
            async with asyncio.timeout(PUSH_TIMEOUT):
                await pusher.push(
                    delivery.external_id,
                    delivery.replies,
                    idempotency_key=delivery.claim.idempotency_key,
                )
        except RecipientGone:
            raise  # the user left; the channel itself worked
        except Exception as exc:
            if self._metrics is not None:
                self._metrics.channel_errors.labels(delivery.channel).inc()
            if isinstance(exc, TimeoutError):
                raise RetryLater("push timed out") from exc
            raise

    # --- outcomes -------------------------------------------------------------------------

    async def _mark_sent(self, claim: _Claim) -> int:
        async with self._uow_factory() as uow:
            marked = await uow.queue.mark_sent(claim.id, self.worker_id, self._clock())
            await uow.commit()
        self._count("sent")
        if not marked:
            log.warning("reminder %s was sent after its claim had expired", claim.id)
            return 1
        # Separate from the SENT mark: a fault here must not make a delivered row look unsent.
        try:
            async with self._uow_factory() as uow:
                user = await uow.users.get(claim.user_id)
                interview = await uow.interviews.owned(claim.user_id, claim.interview_id)
                if user is not None and interview is not None:
                    ctx = self._context(uow, user, self._clock())
                    await followup.after_sent(ctx, interview, claim.kind)
                    await uow.commit()
        except Exception as exc:
            log.error(
                "reminder %s sent, but its follow-up step failed: %s", claim.id, _error_name(exc)
            )
        return 1

    async def _recipient_gone(self, claim: _Claim) -> None:
        async with self._uow_factory() as uow:
            if not await uow.queue.finish(
                claim.id, self.worker_id, ReminderState.PAUSED, error=RecipientGone.__name__
            ):
                return
            user = await uow.users.get(claim.user_id)
            if user is not None:
                user.active = False
            paused = await uow.reminders.set_paused_for_user(claim.user_id, paused=True)
            await uow.commit()
        self._count("recipient_gone")
        log.warning(
            "reminder %s: recipient gone; user %s inactive, %d more reminders paused",
            claim.id,
            claim.user_id,
            paused,
        )

    async def _retry_later(
        self, claim: _Claim, error: Exception, channel: str | None, run: _Run
    ) -> None:
        retry_after = error.retry_after if isinstance(error, RetryLater) else None
        # A platform asking us to slow down is not a failed attempt; a fault is.
        attempts = claim.attempts + (0 if retry_after is not None else 1)
        if attempts >= self._max_attempts:
            await self._fail(claim, error, attempts)
            return
        delay = float(retry_after) if retry_after is not None else row_backoff(attempts)
        due = self._clock() + timedelta(seconds=delay)
        async with self._uow_factory() as uow:
            await uow.queue.reschedule(
                claim.id, self.worker_id, due, attempts=attempts, error=_error_name(error)
            )
            await uow.commit()
        if channel is not None and isinstance(error, RetryLater):
            # The platform is throttling or failing for everyone: the rest of this run's rows
            # for it wait too instead of each hitting the same wall.
            run.cooldown[channel] = max(due, run.cooldown.get(channel, due))
        self._count("retried")
        log.warning(
            "reminder %s: %s, retrying in %.0fs (attempt %d of %d)",
            claim.id,
            _error_name(error),
            delay,
            attempts,
            self._max_attempts,
        )

    async def _fail(self, claim: _Claim, error: Exception, attempts: int) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.finish(
                claim.id,
                self.worker_id,
                ReminderState.FAILED,
                error=_error_name(error),
                attempts=attempts,
            )
            await uow.commit()
        self._count("failed")
        log.error(
            "reminder %s failed for good after %d attempts: %s",
            claim.id,
            attempts,
            _error_name(error),
        )

    async def _end(self, claim: _Claim, state: ReminderState, outcome: str) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.finish(claim.id, self.worker_id, state)
            await uow.commit()
        self._count(outcome)

    async def _requeue(self, claim: _Claim, due: datetime, outcome: str) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.reschedule(claim.id, self.worker_id, due)
            await uow.commit()
        self._count(outcome)

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.reminders.labels(outcome=outcome).inc()
