"""Reminder kinds as data: each kind is one entry saying when it goes out and what it does.

The dispatcher knows no kind by name. It asks the registry three things about a due row:
whether it goes out now (``hold``), what it says (``compose``) and what follows once it was
delivered (``after_sent``); and, when the platform failed it, when to try again, if at all
(``retry_at``). A new kind is one ``ReminderKindSpec`` registered here; nothing
else changes.

The rules that hold for every kind live in the registry, not in the entries, so no entry can
forget them: nothing goes out for a closed, muted or deleted interview, nor into a user's
quiet hours, nor to a user who left the chat. The at-most-N follow-up nudges rule lives here
too: once an interview has had its nudges, a row of a kind that counts as one is composed and
followed up by the registry's ``past_limit`` entry instead (today: the closing no-response
offer), whatever its own kind.

A kind may belong to the user instead of one interview (``UserKindSpec``: the weekly digest).
Its rows name no interview, so the interview rules do not apply to it; every other rule does.
Such a kind may also find it has nothing to say (``Hold.SKIP``, or an empty composition): the
row ends and the kind's ``after_skipped`` plans its next one, so a quiet week is not the end.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from domain import calendar
from domain.protocol import Priority, Reply
from handlers import planning
from handlers.context import Context
from storage.models import Interview, InterviewStatus, User

Compose = Callable[[Context, Interview], Awaitable[list[Reply]]]
AfterSent = Callable[[Context, Interview], Awaitable[None]]
# The after-sent step of many rows at once, each (context, interview) once, all of one unit
# of work: what ``AfterSent`` for each in order would leave, in fewer statements.
AfterSentMany = Callable[[Sequence[tuple[Context, Interview]]], Awaitable[None]]
# The first local day on which a row (due at the given moment) has nothing left to say.
StaleFrom = Callable[[Context, Interview, datetime], date]
Enabled = Callable[[Context], bool]
UserCompose = Callable[[Context], Awaitable[list[Reply]]]
UserStep = Callable[[Context], Awaitable[None]]
# Given the moment the row that ended unsent was due.
UserSkipped = Callable[[Context, datetime], Awaitable[None]]
UserStaleFrom = Callable[[Context, datetime], date]


class Hold(enum.Enum):
    """Why a due reminder is not sent now."""

    CANCEL = "cancelled"  # nothing left to remind about
    PAUSE = "paused"  # the user left the chat; resumes when they come back
    DEFER = "deferred"  # quiet hours or a day off; goes out when they end
    SKIP = "skipped"  # a user-level kind with nothing to say this time; its next one is planned


class UnknownKind(LookupError):
    """A row names a kind this process does not know (a newer release wrote it)."""


async def nothing_follows(ctx: Context, interview: Interview) -> None:
    """The after-sent step of a kind that leaves everything as it was."""


async def nothing_follows_for_user(ctx: Context) -> None:
    """The after-sent step of a user-level kind that leaves everything as it was."""


async def nothing_follows_skipped(ctx: Context, due_at: datetime) -> None:
    """The after-skipped step of a user-level kind that leaves everything as it was."""


def always(ctx: Context) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class ReminderKindSpec:
    """One kind of reminder: when it may go out, until when it is useful, what it does."""

    kind: str
    compose: Compose
    after_sent: AfterSent = nothing_follows
    # OPTIONAL: ``after_sent`` for the rows of a batch together (``ReminderKinds.
    # after_sent_many``); it must leave exactly what ``after_sent`` row by row would.
    after_sent_many: AfterSentMany | None = None
    # True: a row falling due on a weekend or holiday waits for the next business day, at
    # the user's reminder hour. Quiet hours are respected for every kind regardless.
    business_days_only: bool = False
    # None: useful however late it goes out (after downtime, quiet hours, a day off).
    stale_from: StaleFrom | None = None
    # How long a row the platform keeps failing is worth retrying, counted from when the
    # failures began; None: until ``stale_from``, or (neither given) for as long as it takes.
    # It does not stop a row that was never tried, however late that row goes out.
    retry_until: StaleFrom | None = None
    # Whether the user wants this kind at all (a setting can turn some off).
    enabled: Enabled = always
    # Counts towards the at-most-N follow-up nudges an interview gets.
    counts_as_nudge: bool = False
    # OPTIONAL: held (cancelled, with a reason) when the channel says its pushes run short,
    # so what is left of LINE's monthly quota goes to the follow-ups.
    priority: Priority = Priority.ESSENTIAL
    # The interview statuses the kind is about; None: while a result is awaited. A round
    # recorded ahead (SCHEDULED) has reminders of its own.
    statuses: frozenset[InterviewStatus] | None = None

    def is_about(self, status: InterviewStatus) -> bool:
        return status.is_open if self.statuses is None else status in self.statuses


@dataclass(frozen=True, slots=True)
class UserKindSpec:
    """A kind that belongs to the user, not to one interview; its rows name no interview."""

    kind: str
    # An empty list: nothing to say this time (the row ends, ``after_skipped`` runs).
    compose: UserCompose
    after_sent: UserStep = nothing_follows_for_user
    # What follows a row that ended without being sent: nothing to say, or held up too long.
    after_skipped: UserSkipped = nothing_follows_skipped
    business_days_only: bool = False
    # From this local day on the row is skipped (not sent late), and its next one planned.
    stale_from: UserStaleFrom | None = None
    enabled: Enabled = always
    priority: Priority = Priority.ESSENTIAL


AnySpec = ReminderKindSpec | UserKindSpec


class ReminderKinds:
    """The registry: kind name → entry, and the three questions the dispatcher asks."""

    def __init__(
        self,
        specs: Iterable[AnySpec],
        *,
        nudge_limit: int,
        past_limit: ReminderKindSpec,
    ) -> None:
        self._specs: dict[str, AnySpec] = {}
        for spec in specs:
            if spec.kind in self._specs:
                raise ValueError(f"reminder kind {spec.kind!r} registered twice")
            self._specs[spec.kind] = spec
        self.nudge_limit = nudge_limit
        self.past_limit = past_limit

    @property
    def specs(self) -> Mapping[str, AnySpec]:
        return dict(self._specs)

    def with_kind(self, spec: AnySpec) -> ReminderKinds:
        """Return a copy of this registry with one more kind."""
        return ReminderKinds(
            [*self._specs.values(), spec], nudge_limit=self.nudge_limit, past_limit=self.past_limit
        )

    def priority(self, interview: Interview | None, kind: str) -> Priority:
        """How much a row of ``kind`` matters (the closing offer matters like a nudge)."""
        spec = self.spec(kind)
        if isinstance(spec, UserKindSpec) or interview is None:
            return spec.priority
        return self._effective(interview, kind).priority

    def spec(self, kind: str) -> AnySpec:
        try:
            return self._specs[kind]
        except KeyError:
            # Raised, not cancelled: in a rolling deploy an older worker must leave the row
            # (it is retried later, by a worker that knows the kind).
            raise UnknownKind(kind) from None

    def has_subject(self, kind: str, user: User | None, interview: Interview | None) -> bool:
        """The user is still here and, for a kind about an interview, so is the interview."""
        return user is not None and (interview is not None or self.is_user_level(kind))

    def is_user_level(self, kind: str) -> bool:
        """True for a known kind whose rows belong to the user, not to an interview."""
        return isinstance(self._specs.get(kind), UserKindSpec)

    def _user_spec(self, kind: str) -> UserKindSpec | None:
        spec = self.spec(kind)
        return spec if isinstance(spec, UserKindSpec) else None

    def _interview_spec(self, kind: str) -> ReminderKindSpec:
        spec = self.spec(kind)
        if isinstance(spec, UserKindSpec):
            raise TypeError(f"reminder kind {kind!r} belongs to the user, not an interview")
        return spec

    def _effective(self, interview: Interview, kind: str) -> ReminderKindSpec:
        spec = self._interview_spec(kind)
        if spec.counts_as_nudge and interview.followups_sent >= self.nudge_limit:
            return self.past_limit
        return spec

    # --- the three questions ----------------------------------------------------------------

    def hold(
        self, ctx: Context, interview: Interview | None, kind: str, due_at: datetime
    ) -> Hold | None:
        """Decide whether a due reminder waits, stops, or (None) goes out now."""
        spec = self.spec(kind)
        if isinstance(spec, UserKindSpec):
            if not spec.enabled(ctx):
                return Hold.CANCEL
            if spec.stale_from is not None and ctx.today >= spec.stale_from(ctx, due_at):
                # Its moment has passed; the next one is planned instead.
                return Hold.SKIP
        else:
            if (
                interview is None
                or interview.muted
                or not spec.is_about(InterviewStatus(interview.status))
            ):
                return Hold.CANCEL
            if not spec.enabled(ctx):
                return Hold.CANCEL
            if spec.stale_from is not None and ctx.today >= spec.stale_from(ctx, interview, due_at):
                # Held up past its moment (downtime, quiet hours): it has nothing left to say.
                return Hold.CANCEL
        if not ctx.user.active:
            return Hold.PAUSE
        if self.resume_at(ctx, kind) > ctx.now:
            return Hold.DEFER
        return None

    def resume_at(self, ctx: Context, kind: str) -> datetime:
        """Return the first moment from now a reminder of ``kind`` may go out."""
        return self._first_allowed(ctx, kind, planning.earliest_send(ctx))

    def retry_at(
        self,
        ctx: Context,
        interview: Interview | None,
        kind: str,
        at: datetime,
        failing_since: datetime,
    ) -> datetime | None:
        """Return when a row the platform failed is tried again, None once that is of no use.

        A retry obeys what every push obeys: one due in the user's quiet hours (or, for a
        business-day kind, on a day off) moves to their end.
        """
        spec = self.spec(kind)
        user = ctx.user
        moved = self._first_allowed(
            ctx,
            kind,
            calendar.defer_out_of_quiet_hours(at, user.timezone, user.quiet_start, user.quiet_end),
        )
        last = calendar.local_today(moved, user.timezone)
        if isinstance(spec, UserKindSpec):
            if spec.stale_from is not None and last >= spec.stale_from(ctx, failing_since):
                return None
            return moved
        until = spec.retry_until or spec.stale_from
        if (
            interview is not None
            and until is not None
            and last >= until(ctx, interview, failing_since)
        ):
            return None
        return moved

    def _first_allowed(self, ctx: Context, kind: str, earliest: datetime) -> datetime:
        if not self.spec(kind).business_days_only:
            return earliest
        day = calendar.local_today(earliest, ctx.user.timezone)
        if calendar.is_business_day(day):
            return earliest
        user = ctx.user
        return calendar.schedule_at(
            calendar.next_business_day(day),
            user.reminder_hour,
            user.timezone,
            user.quiet_start,
            user.quiet_end,
        )

    async def compose(self, ctx: Context, interview: Interview | None, kind: str) -> list[Reply]:
        """Build the messages of one reminder, picking (and remembering) the tips it shows.

        An empty list (only a user-level kind gives one) means nothing to say this time.
        """
        user_spec = self._user_spec(kind)
        if user_spec is not None:
            return await user_spec.compose(ctx)
        if interview is None:
            raise ValueError(f"reminder kind {kind!r} needs its interview")
        return await self._effective(interview, kind).compose(ctx, interview)

    async def after_sent(self, ctx: Context, interview: Interview | None, kind: str) -> None:
        """Do what follows a delivered reminder: count a nudge, plan the next step."""
        user_spec = self._user_spec(kind)
        if user_spec is not None:
            await user_spec.after_sent(ctx)
            return
        if interview is None:
            return
        spec = self._effective(interview, kind)
        if spec.counts_as_nudge:
            interview.followups_sent += 1
        await spec.after_sent(ctx, interview)

    async def after_sent_many(
        self, delivered: Sequence[tuple[Context, Interview | None, str]]
    ) -> None:
        """``after_sent`` for rows delivered together, in order, in one unit of work.

        Consecutive rows whose entries share an ``after_sent_many`` go to it together, once
        their nudges are counted; an entry without one (or a user-level kind) runs its
        ``after_sent`` in its turn, and a row that leaves nothing (``nothing_follows``) only
        counts its nudge. A second row of an interview already in the group starts a new
        group, so each step sees its interview as it would row by row.
        """
        group: list[tuple[Context, Interview]] = []
        in_group: set[int] = set()
        group_step: AfterSentMany | None = None

        async def flush() -> None:
            nonlocal group, group_step
            if group_step is not None and group:
                await group_step(group)
            group, group_step = [], None
            in_group.clear()

        for ctx, interview, kind in delivered:
            if self._user_spec(kind) is not None or interview is None:
                await flush()
                await self.after_sent(ctx, interview, kind)
                continue
            spec = self._effective(interview, kind)
            step = spec.after_sent_many
            if step is None and spec.after_sent is not nothing_follows:
                await flush()
                await self.after_sent(ctx, interview, kind)
                continue
            if interview.id in in_group or (step is not None and step is not group_step):
                await flush()
            if spec.counts_as_nudge:
                interview.followups_sent += 1
            if step is not None:
                group_step = step
                group.append((ctx, interview))
                in_group.add(interview.id)
        await flush()

    async def after_skipped(self, ctx: Context, kind: str, due_at: datetime) -> None:
        """Do what follows a user-level row that ended unsent (``Hold.SKIP``, nothing to say)."""
        user_spec = self._user_spec(kind)
        if user_spec is not None:
            await user_spec.after_skipped(ctx, due_at)
