"""Getting ready for a scheduled round: the checklist the day before, a line that morning, and
afterwards the questions about how it went.

These reminders are about the user's own appointment, so they go out on any day (quiet hours
are kept, as for every push), and only while the round is still ahead of being recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import calendar
from domain.protocol import Priority, Reply
from handlers import planning
from handlers.context import Context
from handlers.reminder_kinds import ReminderKindSpec
from storage.models import Interview, InterviewStatus, ReminderKind

QUESTIONS_TO_ASK = 3
# How much of the user's own reflection to quote back in the checklist.
QUOTE_MAX = 120
SCHEDULED = frozenset({InterviewStatus.SCHEDULED})


def _quote(text: str | None) -> str | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    joined = " / ".join(lines)
    return joined if len(joined) <= QUOTE_MAX else joined[: QUOTE_MAX - 1] + "…"


async def _last_reflection(ctx: Context, interview: Interview) -> Interview | None:
    """The latest earlier round of the same application on which the user wrote something."""
    if interview.application_id is None:
        return None
    rounds = await ctx.uow.applications.rounds(ctx.user.id, interview.application_id)
    held = [r for r in rounds if r.id != interview.id and r.status not in SCHEDULED]
    written = [r for r in held if r.reflection_good or r.reflection_improve]
    return written[-1] if written else None


def _when(ctx: Context, interview: Interview) -> str:
    return ctx.fmt_datetime(interview.scheduled_at) if interview.scheduled_at is not None else ""


def _stage(ctx: Context, interview: Interview) -> str:
    return ctx.t(f"interview.stage.{interview.stage}")


async def compose_eve(ctx: Context, interview: Interview) -> list[Reply]:
    """The day before: when and where, the user's own notes, news to look up, questions."""
    blocks = [
        ctx.t(
            "reminders.preparation.eve",
            company=interview.company,
            stage=_stage(ctx, interview),
            when=_when(ctx, interview),
        )
    ]
    if interview.place:
        blocks.append(ctx.t("reminders.preparation.place", place=interview.place))
    last = await _last_reflection(ctx, interview)
    if last is not None:
        own = []
        good, improve = _quote(last.reflection_good), _quote(last.reflection_improve)
        if good is not None:
            own.append(ctx.t("reminders.preparation.went_well", text=good))
        if improve is not None:
            own.append(ctx.t("reminders.preparation.to_improve", text=improve))
        blocks.append(ctx.t("reminders.preparation.own_words", lines="\n".join(own)))
    blocks.append(ctx.t("reminders.preparation.news", company=interview.company))
    questions = planning.pick_tips(ctx, "pools.questions_to_ask", QUESTIONS_TO_ASK)
    blocks.append(ctx.t("reminders.preparation.questions", questions=ctx.bullets(questions)))
    blocks.append(ctx.t("reminders.preparation.eve_close"))
    return [ctx.reply("\n\n".join(b.strip("\n") for b in blocks))]


async def compose_morning(ctx: Context, interview: Interview) -> list[Reply]:
    """The day itself: one short line."""
    [line] = planning.pick_tips(ctx, "pools.interview_morning", 1)
    return [
        ctx.reply(
            ctx.t(
                "reminders.preparation.morning",
                company=interview.company,
                stage=_stage(ctx, interview),
                when=_when(ctx, interview),
                line=line,
            )
        )
    ]


async def compose_after(ctx: Context, interview: Interview) -> list[Reply]:
    """After the interview: a button to the questions that could not be asked before it."""
    return [
        ctx.reply(
            ctx.t(
                "reminders.preparation.after",
                company=interview.company,
                stage=_stage(ctx, interview),
            ),
            [ctx.button("reminders.button.record_round", f"i:{interview.id}:held")],
            columns=1,
        )
    ]


def _until_it_begins(ctx: Context, interview: Interview, due_at: datetime) -> date:
    """Preparation is of no use once the interview has begun."""
    begins = interview.scheduled_at
    if begins is None or ctx.now >= begins:
        return ctx.today
    return calendar.local_today(begins, ctx.user.timezone) + timedelta(days=1)


def _until_the_day(ctx: Context, interview: Interview, due_at: datetime) -> date:
    """The checklist says "tomorrow": held up into the day itself, it would not be true."""
    begins = interview.scheduled_at
    if begins is None:
        return ctx.today
    return min(
        _until_it_begins(ctx, interview, due_at), calendar.local_today(begins, ctx.user.timezone)
    )


KINDS = (
    ReminderKindSpec(
        kind=ReminderKind.PREP_EVE.value,
        compose=compose_eve,
        stale_from=_until_the_day,
        statuses=SCHEDULED,
        # Helpful, not needed: held first when LINE's monthly pushes run short.
        priority=Priority.OPTIONAL,
    ),
    ReminderKindSpec(
        kind=ReminderKind.PREP_MORNING.value,
        compose=compose_morning,
        stale_from=_until_it_begins,
        statuses=SCHEDULED,
        priority=Priority.OPTIONAL,
    ),
    ReminderKindSpec(
        kind=ReminderKind.ROUND_AFTER.value,
        compose=compose_after,
        statuses=SCHEDULED,
    ),
)
