"""Turn an interview into reminder rows, and pick tips that have not been shown lately."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from domain import calendar
from domain.calendar import PromisedPeriod
from handlers.context import Context
from storage.models import Interview, Reminder, ReminderKind, ReminderState

# A tip is not shown again until this many others from its pool have been.
TIP_MEMORY = 5


def _moment(ctx: Context, day: date) -> datetime:
    user = ctx.user
    return calendar.schedule_at(
        day, user.reminder_hour, user.timezone, user.quiet_start, user.quiet_end
    )


def _send_moment(ctx: Context, day: date) -> datetime:
    """The user's reminder hour on ``day``, but never in the past, in quiet hours or on a day off.

    A moment that would fall on a weekend, holiday or the year-end break (a late catch-up, the
    end of quiet hours) moves to the reminder hour of the next business day.
    """
    moment = max(_moment(ctx, day), earliest_send(ctx))
    local_day = calendar.local_today(moment, ctx.user.timezone)
    if calendar.is_business_day(local_day):
        return moment
    return _moment(ctx, calendar.next_business_day(local_day))


def earliest_send(ctx: Context) -> datetime:
    """Now, or the end of the user's quiet hours if they are asleep."""
    user = ctx.user
    return calendar.defer_out_of_quiet_hours(
        ctx.now, user.timezone, user.quiet_start, user.quiet_end
    )


def _add(ctx: Context, interview: Interview, kind: ReminderKind, due: datetime) -> None:
    ctx.uow.reminders.add(
        Reminder(
            interview_id=interview.id,
            user_id=interview.user_id,
            kind=kind.value,
            due_at=due,
            state=ReminderState.PENDING.value,
            attempts=0,
        )
    )


def promised_day_of(interview: Interview) -> date:
    """The day the company's promise runs out (with nothing promised, the 14-day guideline)."""
    period = PromisedPeriod.from_storage(interview.promised)
    return calendar.promised_day(interview.interview_date, period)


def promised_followup_day(interview: Interview) -> date:
    """The day the follow-up is due: the first business day after the promised day."""
    period = PromisedPeriod.from_storage(interview.promised)
    return calendar.followup_day(interview.interview_date, period)


def promised_moment_of(interview: Interview) -> datetime | None:
    """The moment a promise of a time runs out (明日15時まで); None for a promise of a day."""
    return PromisedPeriod.from_storage(interview.promised).at


def _checkin(ctx: Context, interview: Interview) -> datetime:
    """A promise of a day: its follow-up day; of a moment: 30 minutes after, in office hours."""
    moment = promised_moment_of(interview)
    if moment is None:
        return _send_moment(ctx, promised_followup_day(interview))
    user = ctx.user
    checkin = calendar.timed_checkin(
        moment, user.timezone, user.reminder_hour, user.quiet_start, user.quiet_end
    )
    if checkin >= ctx.now:
        return checkin
    # Recorded after the moment had passed: as soon as a business day allows.
    return _send_moment(ctx, ctx.today)


async def plan(ctx: Context, interview: Interview) -> datetime:
    """Write the halfway nudge and the follow-up; return the check-in moment.

    The promised day is the company's, so the follow-up comes on the business day after it.
    An interview recorded after that day has passed gets its follow-up right away (outside
    quiet hours, on a business day) rather than never.
    """
    checkin = _checkin(ctx, interview)
    _add(ctx, interview, ReminderKind.FOLLOWUP, checkin)
    halfway = calendar.halfway_day(interview.interview_date, promised_day_of(interview))
    if ctx.user.halfway_nudge and halfway is not None:
        nudge = _moment(ctx, halfway)
        if ctx.now < nudge < checkin:
            _add(ctx, interview, ReminderKind.HALFWAY, nudge)
    return checkin


async def replan(ctx: Context, interview: Interview) -> datetime:
    """The date or the promise changed: drop the pending reminders and plan afresh."""
    await ctx.uow.reminders.cancel_for_interview(interview.id)
    return await plan(ctx, interview)


async def schedule_recheck(
    ctx: Context, interview: Interview, *, business_days: int = 3
) -> datetime:
    """A re-check some business days from today, at the user's reminder hour."""
    day = calendar.recheck_day(ctx.today, business_days)
    return await _replace_pending(ctx, interview, ReminderKind.RECHECK, day)


async def schedule_recheck_unless_pending(
    planned: Sequence[tuple[Context, Interview]], *, business_days: int = 3
) -> None:
    """For each (context, interview), in order: a re-check unless one is already on its way.

    What ``schedule_recheck`` after an empty ``pending_for_interview`` does for each row on
    its own, in three statements for them all: which interviews have a reminder waiting
    (pending or paused), the cancel ``schedule_recheck`` would do (it finds nothing left but
    what another transaction may have added meanwhile) and one insert of the re-checks. An
    interview given a re-check here counts as having one for the later rows. Every context
    is of one unit of work.
    """
    if not planned:
        return
    uow = planned[0][0].uow
    waiting = await uow.reminders.interviews_with_pending({i.id for _, i in planned})
    chosen: list[tuple[Context, Interview]] = []
    for ctx, interview in planned:
        if interview.id not in waiting:
            waiting.add(interview.id)
            chosen.append((ctx, interview))
    await uow.reminders.cancel_for_interviews([i.id for _, i in chosen])
    await uow.reminders.add_many(
        [
            (
                interview.id,
                interview.user_id,
                ReminderKind.RECHECK,
                _send_moment(ctx, calendar.recheck_day(ctx.today, business_days)),
            )
            for ctx, interview in chosen
        ]
    )


async def schedule_snooze(
    ctx: Context, interview: Interview, kind: ReminderKind, day: date
) -> datetime:
    """A snoozed reminder on ``day`` (or the business day after), at the reminder hour."""
    return await _replace_pending(ctx, interview, kind, calendar.next_business_day(day))


async def schedule_in_business_days(
    ctx: Context, interview: Interview, kind: ReminderKind, business_days: int
) -> datetime:
    """A reminder of ``kind`` some business days from today, replacing what was pending."""
    day = calendar.add_business_days(ctx.today, business_days)
    return await _replace_pending(ctx, interview, kind, day)


async def _replace_pending(
    ctx: Context, interview: Interview, kind: ReminderKind, day: date
) -> datetime:
    """Drop the interview's pending reminders and plan one of ``kind`` on ``day``."""
    await ctx.uow.reminders.cancel_for_interview(interview.id)
    due = _send_moment(ctx, day)
    _add(ctx, interview, kind, due)
    return due


async def next_checkin(ctx: Context, interview: Interview) -> datetime | None:
    reminder = await ctx.uow.reminders.next_for_interview(interview.id, ctx.now)
    return reminder.due_at if reminder is not None else None


_TAGS = re.compile(r"^((?:\[[a-z]+\])+)\s*")
# Which tags a result method allows: a phone-only result gets no spam-folder tip, and so on.
_METHOD_TAGS = {
    "email": frozenset({"email"}),
    "phone": frozenset({"phone"}),
    "both": frozenset({"email", "phone"}),
    "unknown": frozenset({"email", "phone"}),
}
WAITING = "waiting"


@functools.lru_cache(maxsize=4096)
def split_tip(entry: str) -> tuple[frozenset[str], str]:
    """A pool entry's tags (``[email]``, ``[phone]``, ``[waiting]``) and the text shown."""
    match = _TAGS.match(entry)
    if match is None:
        return frozenset(), entry
    return frozenset(re.findall(r"\[([a-z]+)\]", match.group(1))), entry[match.end() :]


def tip_texts(ctx: Context, pool_key: str) -> tuple[str, ...]:
    """Every text of a pool as a user would see it."""
    return _texts_of(ctx.pool(pool_key))


# A pool is a tuple from the catalog, split once: composing a reminder reads several pools.
@functools.lru_cache(maxsize=256)
def _split_pool(pool: tuple[str, ...]) -> tuple[tuple[frozenset[str], str], ...]:
    return tuple(split_tip(entry) for entry in pool)


@functools.lru_cache(maxsize=256)
def _texts_of(pool: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(text for _, text in _split_pool(pool))


def waiting_tags(method: str | None) -> frozenset[str]:
    """The tags that fit while the result is awaited by ``method``."""
    return _METHOD_TAGS.get(method or "", frozenset()) | {WAITING}


def _recent_texts(ctx: Context, memory: dict[str, Any], but: str) -> set[str]:
    texts: set[str] = set()
    for key, indices in memory.items():
        if key == but or not ctx.catalog.has(ctx.locale, key):
            continue
        shown = tip_texts(ctx, key)
        texts.update(shown[i] for i in indices[-TIP_MEMORY:] if 0 <= i < len(shown))
    return texts


def pick_tips(
    ctx: Context,
    pool_key: str,
    count: int = 1,
    *,
    allow: Collection[str] = (),
    avoid: Collection[str] = (),
) -> list[str]:
    """Tips from a pool that fit and were not shown lately; remembers what it picked.

    Only entries whose tags are all in ``allow`` can come (untagged ones always can); none
    that is in ``avoid`` (already in this message) or among the user's last few from any pool.
    """
    entries = _split_pool(ctx.pool(pool_key))
    fits = [i for i, (tags, text) in enumerate(entries) if tags <= set(allow) and text not in avoid]
    memory = dict(ctx.user.recent_tips or {})
    recent: list[int] = [i for i in memory.get(pool_key, []) if 0 <= i < len(entries)]
    keep = min(TIP_MEMORY, max(len(fits) - count, 0))
    shown_elsewhere = _recent_texts(ctx, memory, pool_key)
    fresh = [
        i
        for i in fits
        if (not keep or i not in recent[-keep:]) and entries[i][1] not in shown_elsewhere
    ]
    if len(fresh) >= count:
        # Not security-sensitive: only which tip to show.
        chosen = random.sample(fresh, count)
    else:
        # Too few left: the ones shown longest ago come back first.
        seen_at = {i: n for n, i in enumerate(recent)}
        rest = sorted((i for i in fits if i not in fresh), key=lambda i: seen_at.get(i, -1))
        chosen = fresh + rest[: count - len(fresh)]
    memory[pool_key] = (recent + chosen)[-TIP_MEMORY:]
    ctx.user.recent_tips = memory
    return [entries[i][1] for i in chosen]


async def reschedule_pending(ctx: Context, old_timezone: str) -> int:
    """Settings changed: keep each pending reminder's day, move it to the new hour and zone."""
    moved = 0
    rounds: set[int] = set()
    for reminder in await ctx.uow.reminders.for_user(ctx.user.id):
        if reminder.state not in (ReminderState.PENDING.value, ReminderState.PAUSED.value):
            continue
        if reminder.kind in {k.value for k in ROUND_KINDS} and reminder.interview_id is not None:
            # Tied to the round's own time, not to a day: planned again from that time.
            rounds.add(reminder.interview_id)
            continue
        day = calendar.to_local(reminder.due_at, old_timezone).date()
        reminder.due_at = _send_moment(ctx, day)
        moved += 1
    for interview_id in sorted(rounds):
        interview = await ctx.uow.interviews.owned(ctx.user.id, interview_id)
        if interview is not None:
            await replan_round(ctx, interview)
            moved += 1
    return moved


# --- a scheduled round ----------------------------------------------------------------------

ROUND_KINDS = (ReminderKind.PREP_EVE, ReminderKind.PREP_MORNING, ReminderKind.ROUND_AFTER)
# The morning line comes at least this long before the interview, so there is time to use it.
MORNING_LEAD = timedelta(hours=2)
# The questions about how it went come once the interview is likely over.
AFTER_ROUND = timedelta(hours=2)


def round_moments(ctx: Context, scheduled_at: datetime) -> dict[ReminderKind, datetime]:
    """When each reminder of a round goes out; a kind with no good moment is left out.

    The day before at the reminder hour (out of quiet hours, but before the interview); on
    the day itself at the reminder hour, or earlier so that it is at least two hours ahead,
    and never in quiet hours (no such moment: no line); after the interview, the questions
    about how it went. Any day of the week: the appointment is the user's own.
    """
    user = ctx.user
    tz = user.timezone
    day = calendar.local_today(scheduled_at, tz)
    moments: dict[ReminderKind, datetime] = {}
    eve = _moment(ctx, day - timedelta(days=1))
    if ctx.now < eve < scheduled_at - MORNING_LEAD:
        moments[ReminderKind.PREP_EVE] = eve
    latest_morning = scheduled_at - MORNING_LEAD
    morning = min(calendar.at_local_hour(day, user.reminder_hour, tz), latest_morning)
    if (
        calendar.local_today(morning, tz) == day
        and not calendar.in_quiet_hours(morning, tz, user.quiet_start, user.quiet_end)
        and morning > ctx.now
    ):
        moments[ReminderKind.PREP_MORNING] = morning
    after = calendar.defer_out_of_quiet_hours(
        max(scheduled_at + AFTER_ROUND, ctx.now), tz, user.quiet_start, user.quiet_end
    )
    moments[ReminderKind.ROUND_AFTER] = after
    return moments


async def plan_round(ctx: Context, interview: Interview) -> None:
    """Write a scheduled round's reminders: the preparation, the morning line, the after."""
    if interview.scheduled_at is None:
        return
    for kind, due in round_moments(ctx, interview.scheduled_at).items():
        _add(ctx, interview, kind, due)


async def replan_round(ctx: Context, interview: Interview) -> None:
    """The round's time changed: drop its pending reminders and plan them afresh."""
    await ctx.uow.reminders.cancel_for_interview(interview.id, ROUND_KINDS)
    await plan_round(ctx, interview)
