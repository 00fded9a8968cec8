"""The weekly digest: on the first business day of each week, every interview still waiting.

A digest belongs to the user, not to one interview, so its row names none. At most one is on
its way per user (a unique index holds it even when planners race); the sent one plans the
next week's, and so does one that found nothing to say or came too late, so a quiet week is
not the end of them. The first is planned by the housekeeping pass for every user who wants
it and has none on its way (new users, users from before the digest, and any whose row ended
another way), and at once when the user turns it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from domain import calendar
from domain.protocol import Priority, Reply
from handlers import followup_texts as texts
from handlers import planning
from handlers.context import Context
from handlers.reminder_kinds import UserKindSpec
from storage.models import Interview, InterviewStatus, Reminder, ReminderKind, ReminderState, User
from storage.uow import UnitOfWork

KIND = ReminderKind.DIGEST
TIP_POOL = "pools.digest"
WEEK = timedelta(days=7)


# --- when ------------------------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def first_business_day_of_week(day: date) -> date:
    """The week's first business day: its Monday, or the next one when that is a day off."""
    return calendar.next_business_day(_monday(day))


def _moment(user: User, day: date) -> datetime:
    return calendar.schedule_at(
        day, user.reminder_hour, user.timezone, user.quiet_start, user.quiet_end
    )


def _first_moment_from(user: User, day: date, now: datetime) -> datetime:
    """The first digest moment in the week of ``day`` or a later one that is still ahead."""
    week = _monday(day)
    while True:
        moment = _moment(user, first_business_day_of_week(week))
        if moment > now:
            return moment
        week += WEEK


async def _plan(uow: UnitOfWork, user: User, due: datetime) -> datetime | None:
    if not user.weekly_digest:
        return None
    if await uow.reminders.open_for_user(user.id, KIND) is not None:
        return None
    row = Reminder(
        interview_id=None,
        user_id=user.id,
        kind=KIND.value,
        due_at=due,
        state=ReminderState.PENDING.value,
        attempts=0,
    )
    # Lost to a concurrent planner: theirs is the one on its way.
    return due if await uow.reminders.add_once(row) else None


def _first_moment(user: User, now: datetime) -> datetime:
    """The user's next digest moment: this week's if still ahead."""
    return _first_moment_from(user, calendar.local_today(now, user.timezone), now)


async def plan_first(uow: UnitOfWork, user: User, now: datetime) -> datetime | None:
    """Plan the user's next digest (this week's if still ahead) unless one is on its way."""
    return await _plan(uow, user, _first_moment(user, now))


async def plan_first_for(uow: UnitOfWork, users: Sequence[User], now: datetime) -> int:
    """``plan_first`` for many users in one statement; how many digests were planned.

    For a pass over users known to have none on its way (the housekeeping's): the unique
    index still passes over anyone who got one in the meantime.
    """
    planned = [(user.id, _first_moment(user, now)) for user in users if user.weekly_digest]
    return await uow.reminders.add_digests(planned)


async def plan_after(uow: UnitOfWork, user: User, now: datetime, week_of: date) -> None:
    """Plan the digest of the first week after ``week_of``'s that is still ahead."""
    await _plan(uow, user, _first_moment_from(user, _monday(week_of) + WEEK, now))


async def turn_on(ctx: Context) -> None:
    ctx.user.weekly_digest = True
    await plan_first(ctx.uow, ctx.user, ctx.now)


async def turn_off(ctx: Context) -> None:
    ctx.user.weekly_digest = False
    await ctx.uow.reminders.cancel_for_user(ctx.user.id, KIND)


# --- what it says ------------------------------------------------------------------------------


def _waiting(interviews: list[Interview]) -> list[Interview]:
    # A muted interview is one the user asked to hear no more about.
    open_ones = [i for i in interviews if InterviewStatus(i.status).is_open and not i.muted]
    return sorted(open_ones, key=lambda i: (planning.promised_day_of(i), i.company, i.id))


def _where_it_stands(ctx: Context, interview: Interview) -> str:
    due = planning.promised_day_of(interview)
    left = (due - ctx.today).days
    which = "promised" if texts.was_promised(interview) else "guideline"
    if left > 0:
        return ctx.t(f"reminders.digest.{which}.left", due=ctx.fmt_date(due), left=left)
    if left == 0:
        return ctx.t(f"reminders.digest.{which}.today", due=ctx.fmt_date(due))
    return ctx.t(f"reminders.digest.{which}.passed", due=ctx.fmt_date(due), days=-left)


def _item(ctx: Context, interview: Interview) -> str:
    key = (
        "reminders.digest.item_followed"
        if interview.status == InterviewStatus.FOLLOWED_UP.value
        else "reminders.digest.item"
    )
    return ctx.t(key, company=interview.company, when=_where_it_stands(ctx, interview))


def _next_rounds(ctx: Context, interviews: list[Interview]) -> list[Interview]:
    """Rounds booked for the rest of this week, soonest first."""
    sunday = _monday(ctx.today) + timedelta(days=6)
    booked = [
        i
        for i in interviews
        if i.status == InterviewStatus.SCHEDULED.value
        and i.scheduled_at is not None
        and i.scheduled_at >= ctx.now
        and calendar.local_today(i.scheduled_at, ctx.user.timezone) <= sunday
    ]
    return sorted(booked, key=lambda i: i.scheduled_at or ctx.now)


def _this_week(ctx: Context, waiting: list[Interview], booked: list[Interview]) -> list[str]:
    sunday = _monday(ctx.today) + timedelta(days=6)
    lines = [
        ctx.t(
            "reminders.digest.week.next",
            when=ctx.fmt_datetime(i.scheduled_at),
            company=i.company,
            stage=ctx.t(f"template_stage.{i.stage}"),
        )
        for i in booked
        if i.scheduled_at is not None
    ]
    for interview in waiting:
        due = planning.promised_day_of(interview)
        if ctx.today <= due <= sunday:
            which = "promised" if texts.was_promised(interview) else "guideline"
            lines.append(
                ctx.t(
                    f"reminders.digest.week.{which}",
                    date=ctx.fmt_date(due),
                    company=interview.company,
                )
            )
    return lines


async def compose(ctx: Context) -> list[Reply]:
    """The week at a glance; nothing (an empty list) when no interview is waiting."""
    interviews = list(await ctx.uow.interviews.for_user(ctx.user.id))
    waiting = _waiting(interviews)
    booked = _next_rounds(ctx, interviews)
    if not waiting and not booked:
        return []
    parts = [
        ctx.t("reminders.digest.heading", count=len(waiting)),
        "\n".join(_item(ctx, interview) for interview in waiting),
    ]
    week = _this_week(ctx, waiting, booked)
    parts.append(
        ctx.t("reminders.digest.week.heading", lines="\n".join(week))
        if week
        else ctx.t("reminders.digest.week.none")
    )
    [tip] = planning.pick_tips(ctx, TIP_POOL, 1)
    parts.append(ctx.t("reminders.digest.tip", tip=tip))
    text = "\n\n".join(part.strip("\n") for part in parts)
    return [
        ctx.reply(
            text,
            [
                ctx.button("menu.list", "m:list"),
                ctx.button("reminders.digest.button.stop", "s:digest_off"),
            ],
        )
    ]


# --- what follows ------------------------------------------------------------------------------


async def _after_sent(ctx: Context) -> None:
    await plan_after(ctx.uow, ctx.user, ctx.now, ctx.today)


async def _after_skipped(ctx: Context, due_at: datetime) -> None:
    week_of = calendar.local_today(due_at, ctx.user.timezone)
    await plan_after(ctx.uow, ctx.user, ctx.now, week_of)


def _stale_from(ctx: Context, due_at: datetime) -> date:
    # Past its own week it would be last week's digest: the next one is planned instead.
    return _monday(calendar.local_today(due_at, ctx.user.timezone)) + WEEK


def _enabled(ctx: Context) -> bool:
    return ctx.user.weekly_digest


SPEC = UserKindSpec(
    kind=KIND.value,
    compose=compose,
    after_sent=_after_sent,
    after_skipped=_after_skipped,
    business_days_only=True,
    stale_from=_stale_from,
    enabled=_enabled,
    # A weekly overview can wait when LINE's monthly pushes run short; follow-ups cannot.
    priority=Priority.OPTIONAL,
)
