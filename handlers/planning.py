"""Turn an interview into reminder rows, and pick tips that have not been shown lately."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

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


async def plan(ctx: Context, interview: Interview) -> datetime:
    """Write the halfway nudge and the follow-up; return the check-in moment.

    The promised day is the company's, so the follow-up comes on the business day after it.
    An interview recorded after that day has passed gets its follow-up right away (outside
    quiet hours, on a business day) rather than never.
    """
    checkin = _send_moment(ctx, promised_followup_day(interview))
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


async def schedule_again(
    ctx: Context, interview: Interview, kind: ReminderKind, days: int
) -> datetime:
    """The same reminder again after some calendar days, moved onto a business day."""
    day = calendar.next_business_day(ctx.today + timedelta(days=days))
    return await _replace_pending(ctx, interview, kind, day)


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


def pick_tips(ctx: Context, pool_key: str, count: int = 1) -> list[str]:
    """Tips from a pool, skipping the ones this user saw lately; remembers what it picked."""
    pool = ctx.pool(pool_key)
    memory = dict(ctx.user.recent_tips or {})
    recent: list[int] = [i for i in memory.get(pool_key, []) if 0 <= i < len(pool)]
    keep = min(TIP_MEMORY, max(len(pool) - count, 0))
    fresh = (
        [i for i in range(len(pool)) if i not in recent[-keep:]] if keep else list(range(len(pool)))
    )
    # Not security-sensitive: only which tip to show.
    chosen = random.sample(fresh, min(count, len(fresh)))
    memory[pool_key] = (recent + chosen)[-TIP_MEMORY:]
    ctx.user.recent_tips = memory
    return [pool[i] for i in chosen]


async def reschedule_pending(ctx: Context, old_timezone: str) -> int:
    """Settings changed: keep each pending reminder's day, move it to the new hour and zone."""
    moved = 0
    for reminder in await ctx.uow.reminders.for_user(ctx.user.id):
        if reminder.state not in (ReminderState.PENDING.value, ReminderState.PAUSED.value):
            continue
        day = calendar.to_local(reminder.due_at, old_timezone).date()
        reminder.due_at = _send_moment(ctx, day)
        moved += 1
    return moved
