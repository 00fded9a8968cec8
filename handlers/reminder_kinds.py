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
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from domain import calendar
from domain.protocol import Reply
from handlers import planning
from handlers.context import Context
from storage.models import Interview, InterviewStatus

Compose = Callable[[Context, Interview], Awaitable[list[Reply]]]
AfterSent = Callable[[Context, Interview], Awaitable[None]]
# The first local day on which a row (due at the given moment) has nothing left to say.
StaleFrom = Callable[[Context, Interview, datetime], date]
Enabled = Callable[[Context], bool]


class Hold(enum.Enum):
    """Why a due reminder is not sent now."""

    CANCEL = "cancelled"  # nothing left to remind about
    PAUSE = "paused"  # the user left the chat; resumes when they come back
    DEFER = "deferred"  # quiet hours or a day off; goes out when they end


class UnknownKind(LookupError):
    """A row names a kind this process does not know (a newer release wrote it)."""


async def nothing_follows(ctx: Context, interview: Interview) -> None:
    """The after-sent step of a kind that leaves everything as it was."""


def always(ctx: Context) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class ReminderKindSpec:
    """One kind of reminder: when it may go out, until when it is useful, what it does."""

    kind: str
    compose: Compose
    after_sent: AfterSent = nothing_follows
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
    # The interview statuses the kind is about; None: while a result is awaited. A round
    # recorded ahead (SCHEDULED) has reminders of its own.
    statuses: frozenset[InterviewStatus] | None = None

    def is_about(self, status: InterviewStatus) -> bool:
        return status.is_open if self.statuses is None else status in self.statuses


class ReminderKinds:
    """The registry: kind name → entry, and the three questions the dispatcher asks."""

    def __init__(
        self,
        specs: Iterable[ReminderKindSpec],
        *,
        nudge_limit: int,
        past_limit: ReminderKindSpec,
    ) -> None:
        self._specs: dict[str, ReminderKindSpec] = {}
        for spec in specs:
            if spec.kind in self._specs:
                raise ValueError(f"reminder kind {spec.kind!r} registered twice")
            self._specs[spec.kind] = spec
        self.nudge_limit = nudge_limit
        self.past_limit = past_limit

    @property
    def specs(self) -> Mapping[str, ReminderKindSpec]:
        return dict(self._specs)

    def with_kind(self, spec: ReminderKindSpec) -> ReminderKinds:
        """Return a copy of this registry with one more kind."""
        return ReminderKinds(
            [*self._specs.values(), spec], nudge_limit=self.nudge_limit, past_limit=self.past_limit
        )

    def spec(self, kind: str) -> ReminderKindSpec:
        try:
            return self._specs[kind]
        except KeyError:
            # Raised, not cancelled: in a rolling deploy an older worker must leave the row
            # (it is retried later, by a worker that knows the kind).
            raise UnknownKind(kind) from None

    def _effective(self, interview: Interview, kind: str) -> ReminderKindSpec:
        spec = self.spec(kind)
        if spec.counts_as_nudge and interview.followups_sent >= self.nudge_limit:
            return self.past_limit
        return spec

    # --- the three questions ----------------------------------------------------------------

    def hold(
        self, ctx: Context, interview: Interview | None, kind: str, due_at: datetime
    ) -> Hold | None:
        """Decide whether a due reminder waits, stops, or (None) goes out now."""
        spec = self.spec(kind)
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
        self, ctx: Context, interview: Interview, kind: str, at: datetime, failing_since: datetime
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
        until = spec.retry_until or spec.stale_from
        if until is not None and calendar.local_today(moved, user.timezone) >= until(
            ctx, interview, failing_since
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

    async def compose(self, ctx: Context, interview: Interview, kind: str) -> list[Reply]:
        """Build the messages of one reminder, picking (and remembering) the tips it shows."""
        return await self._effective(interview, kind).compose(ctx, interview)

    async def after_sent(self, ctx: Context, interview: Interview, kind: str) -> None:
        """Do what follows a delivered reminder: count a nudge, plan the next step."""
        spec = self._effective(interview, kind)
        if spec.counts_as_nudge:
            interview.followups_sent += 1
        await spec.after_sent(ctx, interview)
