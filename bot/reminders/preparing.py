"""Deciding whether a claimed row goes out now, and composing it, in one transaction.

The renewal comes first and is a write: it proves the row is still this worker's (a lease
that ran out may have passed it to another) and, on SQLite, takes the write lock up front
instead of failing to upgrade a read later. The decision is made here, at send time, not when
the row was written, because what the user wants can change in between: they may have closed
or muted the interview, left the chat or gone to sleep. The dispatcher asks the kinds registry
(``hold``, ``compose``) and knows no kind by name. Composing happens inside the transaction
because it remembers which tips it picked, and the composition is stored on the row in the
same commit: a worker that takes a half-sent reminder over sends the rest of that text instead
of composing again. The push comes after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from bot.engine import Clock
from bot.reminders import composed
from bot.reminders.claims import Claim
from bot.reminders.outcomes import Count, RunMemory
from bot.reminders.sending import Delivery
from domain.protocol import Priority, Pusher
from handlers.context import Context
from handlers.reminder_kinds import Hold, ReminderKinds
from messages.catalog import Catalog
from storage.models import Interview, ReminderState
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class Preparer:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        catalog: Catalog,
        clock: Clock,
        kinds: ReminderKinds,
        count: Count,
        *,
        worker_id: str,
        pushers: Mapping[str, Pusher] | None = None,
    ) -> None:
        # The app's own mapping, not a copy: channels registered later are asked too.
        self._pushers: Mapping[str, Pusher] = pushers if pushers is not None else {}
        self._uow_factory = uow_factory
        self._catalog = catalog
        self._clock = clock
        self._kinds = kinds
        self._count = count
        self._worker_id = worker_id

    async def prepare(self, claim: Claim, run: RunMemory) -> Delivery | None:
        """Renew the claim, decide whether the reminder still goes out, and compose it."""
        async with self._uow_factory() as uow:
            now = self._clock()
            if not await uow.queue.renew(claim.id, self._worker_id, now):
                log.warning("reminder %s: claim lost before sending", claim.id)
                return None
            user = await uow.users.get(claim.user_id)
            interview = (
                None
                if claim.interview_id is None
                else await uow.interviews.owned(claim.user_id, claim.interview_id)
            )
            if user is None or (interview is None and not self._kinds.is_user_level(claim.kind)):
                await uow.queue.finish(claim.id, self._worker_id, ReminderState.CANCELLED)
                await uow.commit()
                self._count("cancelled")
                return None
            ctx = Context(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)
            reason = self._kinds.hold(ctx, interview, claim.kind, claim.due_at)
            if reason is not None:
                await self._hold(uow, claim, ctx, reason)
                await uow.commit()
                self._count(reason.value)
                return None
            until = run.cooldown.get(user.channel)
            if until is not None and until > now:
                await uow.queue.reschedule(claim.id, self._worker_id, until)
                await uow.commit()
                self._count("throttled")
                return None
            if not claim.parts_sent and not await self._has_room(user.channel, interview, claim):
                # The channel's pushes run short (LINE's monthly quota): what is left goes to
                # the follow-ups. An optional kind is not worth a push later, so it is dropped.
                await uow.queue.finish(
                    claim.id, self._worker_id, ReminderState.CANCELLED, error="LowQuota"
                )
                await uow.commit()
                self._count("held_for_quota")
                return None
            if claim.parts_sent and claim.composed is not None:
                # Part of it is out: the rest must be the same text, so it is not composed again.
                replies = composed.load(claim.composed)
                first_part = claim.parts_sent
            else:
                # Nothing is out yet: composed afresh, so it says truthfully how long it has been.
                replies = await self._kinds.compose(ctx, interview, claim.kind)
                if not replies:
                    await self._hold(uow, claim, ctx, Hold.SKIP)
                    await uow.commit()
                    self._count(Hold.SKIP.value)
                    return None
                await uow.queue.store_composed(claim.id, self._worker_id, composed.dump(replies), 0)
                first_part = 0
            delivery = Delivery(claim, user.channel, user.external_id, replies, first_part)
            await uow.commit()
            return delivery

    async def _has_room(self, channel: str, interview: Interview | None, claim: Claim) -> bool:
        priority = self._kinds.priority(interview, claim.kind)
        if priority is Priority.ESSENTIAL:
            return True
        has_room = getattr(self._pushers.get(channel), "has_room", None)
        if has_room is None:  # only a channel with a budget asks
            return True
        return bool(await has_room(priority))

    async def _hold(self, uow: UnitOfWork, claim: Claim, ctx: Context, reason: Hold) -> None:
        if reason is Hold.DEFER:
            resume = self._kinds.resume_at(ctx, claim.kind)
            await uow.queue.reschedule(claim.id, self._worker_id, resume)
            return
        state = ReminderState.PAUSED if reason is Hold.PAUSE else ReminderState.CANCELLED
        if await uow.queue.finish(claim.id, self._worker_id, state) and reason is Hold.SKIP:
            # Ended first, so the kind's next row is not taken for a second one on its way.
            await self._kinds.after_skipped(ctx, claim.kind, claim.due_at)
