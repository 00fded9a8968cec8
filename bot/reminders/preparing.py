"""Deciding whether claimed rows go out now, and composing them, in one transaction per batch.

The renewal comes first and is a write: it proves the row is still this worker's (a lease
that ran out may have passed it to another) and, on SQLite, takes the write lock up front
instead of failing to upgrade a read later. The decision is made here, at send time, not when
the row was written, because what the user wants can change in between: they may have closed
or muted the interview, left the chat or gone to sleep. The dispatcher asks the kinds registry
(``hold``, ``compose``) and knows no kind by name. Composing happens inside the transaction
because it remembers which tips it picked, and the composition is stored on the row in the
same commit: a worker that takes a half-sent reminder over sends the rest of that text instead
of composing again. The push comes after the commit.

A batch is prepared together: one statement renews every claim, one query each loads the
users and the interviews, each row is decided and composed, and the compositions are stored
in one executemany before the one commit. The dispatcher hands in at most one row per user
at a time (a user's next row is prepared after this one is out), so no row is decided on
what an earlier row of the same user is about to change. Should anything in the batch fail,
nothing of it counts and each row is prepared again on its own (``prepare``), so one bad row
costs only itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.engine import Clock
from bot.reminders import composed
from bot.reminders.claims import Claim, subjects
from bot.reminders.group_commit import OpenUnitOfWork
from bot.reminders.outcomes import Count, RunMemory, error_name
from bot.reminders.sending import Delivery
from domain import calendar
from domain.protocol import Priority, Pusher
from handlers.context import Context
from handlers.reminder_kinds import Hold, ReminderKinds
from messages.catalog import Catalog
from storage.models import Interview, ReminderState, User
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class _Composing(Context):
    """The context a reminder is decided and composed in: its locale and day are read once.

    Composing asks for some fifty texts, each by the user's locale (an ORM attribute read and a
    catalog lookup) and several by their day; neither changes while one row is decided, since
    the row is decided in one go with nothing awaited that could change its user.
    """

    @functools.cached_property
    def locale(self) -> str:
        return self.catalog.locale_of(self.user.locale)

    @functools.cached_property
    def today(self) -> date:
        return calendar.local_today(self.now, self.user.timezone)


@dataclass(frozen=True, slots=True)
class _Decision:
    delivery: Delivery | None = None
    # What to store on the row: the composition of a reminder composed afresh.
    composed: list[Any] | None = None
    # The outcome to count once committed (None: nothing to count).
    outcome: str | None = None
    lost: bool = False


# What the channels said about room for a priority, asked once per batch.
RoomAnswers = dict[tuple[str, Priority], bool]


class Preparer:
    def __init__(
        self,
        uow_factory: OpenUnitOfWork,
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

    async def prepare_batch(
        self, claims: list[Claim], run: RunMemory
    ) -> tuple[list[Delivery], list[tuple[Claim, Exception]]]:
        """Prepare rows of different users; return what goes out, and the rows that failed."""
        if not claims:
            return [], []
        if len(claims) > 1:
            try:
                return await self._prepare_together(claims, run), []
            except Exception as exc:
                log.warning(
                    "a batch of %d reminders could not be prepared together (%s); one by one",
                    len(claims),
                    error_name(exc),
                )
        deliveries: list[Delivery] = []
        failed: list[tuple[Claim, Exception]] = []
        for claim in claims:
            try:
                delivery = await self.prepare(claim, run)
            except Exception as exc:
                failed.append((claim, exc))
                continue
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries, failed

    async def _prepare_together(self, claims: list[Claim], run: RunMemory) -> list[Delivery]:
        decisions: list[tuple[Claim, _Decision]] = []
        async with self._uow_factory() as uow:
            now = self._clock()
            kept = await uow.queue.renew_many([c.id for c in claims], self._worker_id, now)
            found = await subjects(uow, [c for c in claims if c.id in kept])
            rooms: RoomAnswers = {}
            for claim in claims:
                if claim.id not in kept:
                    decisions.append((claim, _Decision(lost=True)))
                    continue
                user, interview = found[claim.id]
                decision = await self._decide(uow, claim, user, interview, now, run, rooms)
                decisions.append((claim, decision))
                # Composing is all CPU: a batch of it in one go would hold up the pushes out
                # meanwhile (a paced channel's next request would leave late, then bunch).
                await asyncio.sleep(0)
            await uow.queue.store_composed_many(
                self._worker_id,
                {c.id: d.composed for c, d in decisions if d.composed is not None},
            )
            await uow.commit()
        return self._settle(decisions)

    async def prepare(self, claim: Claim, run: RunMemory) -> Delivery | None:
        """Renew the claim, decide whether the reminder still goes out, and compose it."""
        async with self._uow_factory() as uow:
            now = self._clock()
            if not await uow.queue.renew(claim.id, self._worker_id, now):
                decision = _Decision(lost=True)
            else:
                user, interview = (await subjects(uow, [claim]))[claim.id]
                decision = await self._decide(uow, claim, user, interview, now, run, {})
                if decision.composed is not None:
                    await uow.queue.store_composed(claim.id, self._worker_id, decision.composed, 0)
                await uow.commit()
        deliveries = self._settle([(claim, decision)])
        return deliveries[0] if deliveries else None

    def _settle(self, decisions: list[tuple[Claim, _Decision]]) -> list[Delivery]:
        """After the commit: count and log what was decided; return what goes out."""
        deliveries = []
        for claim, decision in decisions:
            if decision.lost:
                log.warning("reminder %s: claim lost before sending", claim.id)
            if decision.outcome is not None:
                self._count(decision.outcome)
            if decision.delivery is not None:
                deliveries.append(decision.delivery)
        return deliveries

    async def _decide(
        self,
        uow: UnitOfWork,
        claim: Claim,
        user: User | None,
        interview: Interview | None,
        now: datetime,
        run: RunMemory,
        rooms: RoomAnswers,
    ) -> _Decision:
        """Decide one renewed row, writing a hold at once; a composition is left to store."""
        if user is None or not self._kinds.has_subject(claim.kind, user, interview):
            await uow.queue.finish(claim.id, self._worker_id, ReminderState.CANCELLED)
            return _Decision(outcome="cancelled")
        ctx = _Composing(uow=uow, user=user, catalog=self._catalog, now=now, dialogue=None)
        reason = self._kinds.hold(ctx, interview, claim.kind, claim.due_at)
        if reason is not None:
            await self._hold(uow, claim, ctx, reason)
            return _Decision(outcome=reason.value)
        until = run.cooldown.get(user.channel)
        if until is not None and until > now:
            await uow.queue.reschedule(claim.id, self._worker_id, until)
            return _Decision(outcome="throttled")
        if not claim.parts_sent and not await self._has_room(user.channel, interview, claim, rooms):
            # The channel's pushes run short (LINE's monthly quota): what is left goes to
            # the follow-ups. An optional kind is not worth a push later, so it is dropped.
            await uow.queue.finish(
                claim.id, self._worker_id, ReminderState.CANCELLED, error="LowQuota"
            )
            return _Decision(outcome="held_for_quota")
        if claim.parts_sent and claim.composed is not None:
            # Part of it is out: the rest must be the same text, so it is not composed again.
            replies = composed.load(claim.composed)
            delivery = Delivery(claim, user.channel, user.external_id, replies, claim.parts_sent)
            return _Decision(delivery=delivery)
        # Nothing is out yet: composed afresh, so it says truthfully how long it has been.
        replies = await self._kinds.compose(ctx, interview, claim.kind)
        if not replies:
            await self._hold(uow, claim, ctx, Hold.SKIP)
            return _Decision(outcome=Hold.SKIP.value)
        delivery = Delivery(claim, user.channel, user.external_id, replies, 0)
        return _Decision(delivery=delivery, composed=composed.dump(replies))

    async def _has_room(
        self, channel: str, interview: Interview | None, claim: Claim, rooms: RoomAnswers
    ) -> bool:
        priority = self._kinds.priority(interview, claim.kind)
        if priority is Priority.ESSENTIAL:
            return True
        has_room = getattr(self._pushers.get(channel), "has_room", None)
        if has_room is None:  # only a channel with a budget asks
            return True
        known = rooms.get((channel, priority))
        if known is None:
            known = rooms[(channel, priority)] = bool(await has_room(priority))
        return known

    async def _hold(self, uow: UnitOfWork, claim: Claim, ctx: Context, reason: Hold) -> None:
        if reason is Hold.DEFER:
            resume = self._kinds.resume_at(ctx, claim.kind)
            await uow.queue.reschedule(claim.id, self._worker_id, resume)
            return
        state = ReminderState.PAUSED if reason is Hold.PAUSE else ReminderState.CANCELLED
        if await uow.queue.finish(claim.id, self._worker_id, state) and reason is Hold.SKIP:
            # Ended first, so the kind's next row is not taken for a second one on its way.
            await self._kinds.after_skipped(ctx, claim.kind, claim.due_at)
