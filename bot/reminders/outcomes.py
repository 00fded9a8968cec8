"""How each row ended: every fault of a channel becomes the row's state, none stops a run.

Each outcome is its own short transaction after the push, fenced by ``claimed_by`` in the
queue, so a worker whose lease ran out cannot overwrite what the worker that took over
decided. Delivered: SENT, then (in a separate transaction, so a fault there cannot make a
delivered row look unsent) the kind's after-sent step. The recipient is gone (blocked,
unfollowed): the row and the user's other rows are PAUSED until they come back. A permanent
failure: FAILED. Anything else: rescheduled with backoff, FAILED after ``max_attempts``; a
platform asking us to slow down does not use up an attempt, and holds back the rest of the
run's rows for that channel. Logs carry ids and error classes, never message text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.engine import Clock
from bot.reminders.claims import Claim
from domain.protocol import PermanentFailure, RecipientGone, RetryLater
from handlers.context import Context
from handlers.reminder_kinds import ReminderKinds
from messages.catalog import Catalog
from storage.models import ReminderState
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ROW_BACKOFF_FIRST = 60.0
ROW_BACKOFF_MAX = 3600.0

Count = Callable[[str], None]


def error_name(error: BaseException) -> str:
    # Only the class: a channel's exception text may quote the message or the chat id.
    return type(error).__name__


def row_backoff(attempts: int) -> float:
    """Return the seconds before a row that failed ``attempts`` times is tried again."""
    return min(ROW_BACKOFF_FIRST * 2.0 ** max(attempts - 1, 0), ROW_BACKOFF_MAX)


@dataclass
class RunMemory:
    """What one run learnt about channels and users, so later rows do not repeat a fault."""

    gone_users: set[int] = field(default_factory=set)
    cooldown: dict[str, datetime] = field(default_factory=dict)


class Outcomes:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
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

    async def record(
        self, claim: Claim, error: Exception | None, channel: str, run: RunMemory
    ) -> int:
        """Record a push's result; return 1 if it was delivered."""
        if error is None:
            return await self.sent(claim)
        if isinstance(error, RecipientGone):
            run.gone_users.add(claim.user_id)
            await self.recipient_gone(claim)
        elif isinstance(error, PermanentFailure):
            await self.fail(claim, error, claim.attempts + 1)
        else:
            await self.retry_later(claim, error, channel, run)
        return 0

    async def sent(self, claim: Claim) -> int:
        async with self._uow_factory() as uow:
            marked = await uow.queue.mark_sent(claim.id, self._worker_id, self._clock())
            await uow.commit()
        self._count("sent")
        if not marked:
            log.warning("reminder %s was sent after its claim had expired", claim.id)
            return 1
        try:
            async with self._uow_factory() as uow:
                user = await uow.users.get(claim.user_id)
                interview = await uow.interviews.owned(claim.user_id, claim.interview_id)
                if user is not None and interview is not None:
                    ctx = Context(
                        uow=uow, user=user, catalog=self._catalog, now=self._clock(), dialogue=None
                    )
                    await self._kinds.after_sent(ctx, interview, claim.kind)
                    await uow.commit()
        except Exception as exc:
            log.error(
                "reminder %s sent, but its follow-up step failed: %s", claim.id, error_name(exc)
            )
        return 1

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
        retry_after = error.retry_after if isinstance(error, RetryLater) else None
        # A platform asking us to slow down is not a failed attempt; a fault is.
        attempts = claim.attempts + (0 if retry_after is not None else 1)
        if attempts >= self._max_attempts:
            await self.fail(claim, error, attempts)
            return
        delay = float(retry_after) if retry_after is not None else row_backoff(attempts)
        due = self._clock() + timedelta(seconds=delay)
        async with self._uow_factory() as uow:
            await uow.queue.reschedule(
                claim.id, self._worker_id, due, attempts=attempts, error=error_name(error)
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
            error_name(error),
            delay,
            attempts,
            self._max_attempts,
        )

    async def fail(self, claim: Claim, error: Exception, attempts: int) -> None:
        async with self._uow_factory() as uow:
            await uow.queue.finish(
                claim.id,
                self._worker_id,
                ReminderState.FAILED,
                error=error_name(error),
                attempts=attempts,
            )
            await uow.commit()
        self._count("failed")
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
