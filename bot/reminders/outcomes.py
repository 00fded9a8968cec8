"""How each row ended: every fault of a channel becomes the row's state, none stops a run.

Every outcome is written after the push, fenced by ``claimed_by`` in the queue, so a worker
whose lease ran out cannot overwrite what the worker that took over decided. Delivered: SENT,
then (in a separate transaction, so a fault there cannot make a delivered row look unsent) the
kind's after-sent step. Both are group commits (``group_commit``): the rows delivered together
are marked in one transaction, and their after-sent steps run together in the next; should one
kind's step fail there, the steps are run again one row at a time, each in its own
transaction, so one fault costs only its own row's step, as before. The recipient is gone (blocked,
unfollowed): the row and the user's other rows are PAUSED until they come back. A permanent
failure: FAILED. The platform down (5xx, timeouts, a revoked token): rescheduled with a backoff
capped at ``ROW_BACKOFF_MAX``, out of the user's quiet hours, for as long as the kind says a
retry is useful (the registry's ``retry_at``), then FAILED as given up; an outage is no fault
of the row's, so it uses up no attempt. A platform asking us to slow down uses up none either.
Anything else (ours or unknown): rescheduled with backoff, FAILED after ``max_attempts``. A
platform fault holds back the rest of the run's rows for that channel. Logs carry ids and
error classes, never message text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.engine import Clock
from bot.reminders.claims import Claim, subjects
from bot.reminders.group_commit import GroupCommit, OpenUnitOfWork
from bot.reminders.sending import ClaimLost
from domain.protocol import PermanentFailure, RecipientGone, RetryLater
from handlers.context import Context
from handlers.reminder_kinds import ReminderKinds
from messages.catalog import Catalog
from storage.models import Interview, ReminderState, User
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ROW_BACKOFF_FIRST = 60.0
# A platform that is down is tried at least this often, however long it has been down.
ROW_BACKOFF_MAX = 1800.0

Count = Callable[[str], None]


def error_name(error: BaseException) -> str:
    # Only the class: a channel's exception text may quote the message or the chat id.
    return type(error).__name__


def row_backoff(attempts: int) -> float:
    """Return the seconds before a row that failed ``attempts`` times is tried again."""
    return min(ROW_BACKOFF_FIRST * 2.0 ** max(attempts - 1, 0), ROW_BACKOFF_MAX)


def outage_backoff(failing_for: timedelta) -> float:
    """Return the seconds before a row the platform has failed for this long is tried again.

    Waiting as long again as it has been failing doubles the gap try after try, without a
    counter to keep, and the cap keeps a recovered platform from waiting long for the next try.
    """
    return min(max(failing_for.total_seconds(), ROW_BACKOFF_FIRST), ROW_BACKOFF_MAX)


@dataclass(frozen=True, slots=True)
class _Record:
    claim: Claim
    parts: int | None
    # True: the row is delivered (the last part is out); marked SENT in the same write.
    done: bool


@dataclass
class RunMemory:
    """What one run learnt about channels and users, so later rows do not repeat a fault."""

    gone_users: set[int] = field(default_factory=set)
    cooldown: dict[str, datetime] = field(default_factory=dict)


class Outcomes:
    def __init__(
        self,
        uow_factory: OpenUnitOfWork,
        catalog: Catalog,
        clock: Clock,
        kinds: ReminderKinds,
        count: Count,
        *,
        worker_id: str,
        max_attempts: int,
    ) -> None:
        self._uow_factory = uow_factory
        self._catalog = catalog
        self._clock = clock
        self._kinds = kinds
        self._count = count
        self._worker_id = worker_id
        self._max_attempts = max_attempts
        self._records: GroupCommit[_Record, bool] = GroupCommit(self._write_records)
        self._steps: GroupCommit[Claim, None] = GroupCommit(self._after_sent_together)

    async def record(
        self,
        claim: Claim,
        error: Exception | None,
        channel: str,
        run: RunMemory,
        *,
        marked: bool | None = None,
    ) -> int:
        """Record a push's result; return 1 if it was delivered.

        ``marked``: whether recording the last part already marked the row SENT (True) or
        found the claim lost (False); None when no part was recorded in this try.
        """
        if error is None:
            return await self.sent(claim, marked)
        if isinstance(error, ClaimLost):
            log.warning(
                "reminder %s: claim lost while sending; the new holder sends the rest", claim.id
            )
            return 0
        if isinstance(error, RecipientGone):
            run.gone_users.add(claim.user_id)
            await self.recipient_gone(claim)
        elif isinstance(error, PermanentFailure):
            await self.fail(claim, error, claim.attempts + 1, outcome="permanent_failure")
        else:
            await self.retry_later(claim, error, channel, run)
        return 0

    async def part_sent(self, claim: Claim, parts: int, *, last: bool = False) -> bool:
        """Record that ``parts`` parts are out; return once that is committed.

        The last part's record marks the row SENT as well. False: the claim is lost.
        """
        return await self._records(_Record(claim, parts, done=last))

    async def sent(self, claim: Claim, marked: bool | None = None) -> int:
        if marked is None:
            marked = await self._records(_Record(claim, None, done=True))
        self._count("sent")
        if not marked:
            log.warning("reminder %s was sent after its claim had expired", claim.id)
            return 1
        await self._steps(claim)
        return 1

    async def _write_records(self, records: list[_Record]) -> list[bool]:
        """One transaction for the records of every push that ended meanwhile."""
        parts = {r.claim.id: r.parts for r in records if not r.done and r.parts is not None}
        done = {r.claim.id: r.parts for r in records if r.done}
        async with self._uow_factory() as uow:
            now = self._clock()
            kept: set[int] = set()
            if parts:
                kept |= await uow.queue.parts_sent_many(self._worker_id, parts, now)
            if done:
                kept |= await uow.queue.mark_sent_many(self._worker_id, done, now)
            await uow.commit()
        return [r.claim.id in kept for r in records]

    async def _after_sent_together(self, claims: list[Claim]) -> list[None]:
        """The after-sent steps of rows delivered together, in one transaction.

        Should any step fail, none of them counts, and each is run again on its own.
        """
        try:
            async with self._uow_factory() as uow:
                now = self._clock()
                found = await subjects(uow, claims)
                delivered = []
                for claim in claims:
                    user, interview = found[claim.id]
                    if user is None or not self._kinds.has_subject(claim.kind, user, interview):
                        continue
                    ctx = Context(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)
                    delivered.append((ctx, interview, claim.kind))
                await self._kinds.after_sent_many(delivered)
                await uow.commit()
        except Exception as exc:
            if len(claims) == 1:
                self._step_failed(claims[0], exc)
            else:
                for claim in claims:
                    await self._after_sent_alone(claim)
        return [None] * len(claims)

    async def _after_sent_alone(self, claim: Claim) -> None:
        try:
            async with self._uow_factory() as uow:
                user, interview = (await subjects(uow, [claim]))[claim.id]
                await self._after_sent(uow, claim, user, interview, self._clock())
                await uow.commit()
        except Exception as exc:
            self._step_failed(claim, exc)

    async def _after_sent(
        self,
        uow: UnitOfWork,
        claim: Claim,
        user: User | None,
        interview: Interview | None,
        now: datetime,
    ) -> None:
        if user is None or not self._kinds.has_subject(claim.kind, user, interview):
            return
        ctx = Context(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)
        await self._kinds.after_sent(ctx, interview, claim.kind)

    @staticmethod
    def _step_failed(claim: Claim, error: Exception) -> None:
        log.error(
            "reminder %s sent, but its follow-up step failed: %s", claim.id, error_name(error)
        )

    async def recipient_gone(self, claim: Claim) -> None:
        async with self._uow_factory() as uow:
            if not await uow.queue.finish(
                claim.id, self._worker_id, ReminderState.PAUSED, error=RecipientGone.__name__
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

    async def retry_later(
        self, claim: Claim, error: Exception, channel: str | None, run: RunMemory
    ) -> None:
        now = self._clock()
        retry_after = error.retry_after if isinstance(error, RetryLater) else None
        if retry_after is not None:
            # A platform asking us to slow down is not a failed attempt.
            wait = float(retry_after)
            await self._reschedule(claim, error, now + timedelta(seconds=wait), claim.attempts)
        elif isinstance(error, RetryLater):
            # The platform is down (5xx, timeouts, a revoked token): not the row's fault, so
            # no attempt is used up; it is tried for as long as its kind says it is useful.
            since = claim.retrying_since or now
            wait = outage_backoff(now - since)
            if not await self._retry_while_useful(
                claim, error, now + timedelta(seconds=wait), since
            ):
                return
        else:
            # Ours or unknown (a bug in a channel, a kind this release does not know).
            attempts = claim.attempts + 1
            if attempts >= self._max_attempts:
                await self.fail(claim, error, attempts, outcome="gave_up")
                return
            wait = row_backoff(attempts)
            await self._reschedule(claim, error, now + timedelta(seconds=wait), attempts)
        if channel is not None and isinstance(error, RetryLater):
            # The platform is throttling or failing for everyone: the rest of this run's rows
            # for it wait too instead of each hitting the same wall.
            until = now + timedelta(seconds=wait)
            run.cooldown[channel] = max(until, run.cooldown.get(channel, until))
        self._count("retried")
        log.warning(
            "reminder %s: %s, retrying in %.0fs at the earliest", claim.id, error_name(error), wait
        )

    async def _reschedule(
        self,
        claim: Claim,
        error: Exception,
        due: datetime,
        attempts: int,
        retrying_since: datetime | None = None,
    ) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.reschedule(
                claim.id,
                self._worker_id,
                due,
                attempts=attempts,
                error=error_name(error),
                retrying_since=retrying_since,
            )
            await uow.commit()

    async def _retry_while_useful(
        self, claim: Claim, error: Exception, at: datetime, since: datetime
    ) -> bool:
        """Reschedule a row the platform failed, or give it up once a retry is of no use."""
        async with self._uow_factory() as uow:
            now = self._clock()
            user, interview = (await subjects(uow, [claim]))[claim.id]
            due: datetime | None = at
            if user is not None and self._kinds.has_subject(claim.kind, user, interview):
                ctx = Context(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)
                due = self._kinds.retry_at(ctx, interview, claim.kind, at, since)
            if due is not None:
                await uow.queue.reschedule(
                    claim.id,
                    self._worker_id,
                    due,
                    error=error_name(error),
                    retrying_since=since,
                )
                await uow.commit()
                return True
        await self.fail(claim, error, claim.attempts, outcome="gave_up", failing_since=since)
        return False

    async def fail(
        self,
        claim: Claim,
        error: Exception,
        attempts: int,
        *,
        outcome: str,
        failing_since: datetime | None = None,
    ) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.finish(
                claim.id,
                self._worker_id,
                ReminderState.FAILED,
                error=error_name(error),
                attempts=attempts,
            )
            await uow.commit()
        self._count(outcome)
        if failing_since is not None:
            log.error(
                "reminder %s failed for good: %s for %.0f minutes, and no longer useful",
                claim.id,
                error_name(error),
                (self._clock() - failing_since).total_seconds() / 60,
            )
            return
        log.error(
            "reminder %s failed for good after %d attempts: %s",
            claim.id,
            attempts,
            error_name(error),
        )

    async def end(self, claim: Claim, state: ReminderState, outcome: str) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.finish(claim.id, self._worker_id, state)
            await uow.commit()
        self._count(outcome)

    async def requeue(self, claim: Claim, due: datetime, outcome: str) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.reschedule(claim.id, self._worker_id, due)
            await uow.commit()
        self._count(outcome)
