"""What each reminder kind says and does (halfway, follow-up, re-check, the closing offer).

An interview gets at most two follow-up pushes: the follow-up after the promised day and one
re-check. A snoozed one comes back as its own ``*_later`` kind, which does not use one up.
After the last, a closing message offers "no response" as a choice; nothing sets it silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from domain import calendar
from domain.parsing import parse_id
from domain.protocol import Choice, Priority, Reply
from handlers import digest, outcome, planning, preparation
from handlers import followup_texts as texts
from handlers.context import Context
from handlers.menu import main_menu
from handlers.reminder_kinds import Hold as Hold
from handlers.reminder_kinds import ReminderKinds, ReminderKindSpec
from storage.models import Interview, InterviewStatus, ReminderKind

# Follow-up pushes (the follow-up, the re-check) an interview gets at most; the reminder
# after the last one offers to close the interview as NO_RESPONSE instead.
MAX_NUDGES = 2
RECHECK_BUSINESS_DAYS = 3
WAIT_MORE_BUSINESS_DAYS = 5
AGAIN_DAYS = 3
# 後で on a follow-up (``later``) or a re-check (``wait``) offers these; the button of a choice
# is the op followed by the choice: ``later1`` (明日), ``later3`` (3日後), ``laterw`` (来週).
SNOOZE_TOMORROW = "1"
SNOOZE_DAYS = str(AGAIN_DAYS)
SNOOZE_NEXT_WEEK = "w"
SNOOZED_KIND = {"later": ReminderKind.FOLLOWUP_LATER, "wait": ReminderKind.RECHECK_LATER}
_SNOOZE_OPS = {
    f"{op}{choice}": (kind, choice)
    for op, kind in SNOOZED_KIND.items()
    for choice in (SNOOZE_TOMORROW, SNOOZE_DAYS, SNOOZE_NEXT_WEEK)
}
# A follow-up or re-check the platform keeps failing is retried through this many business
# days after the day the failures began.
RETRY_BUSINESS_DAYS = 3
COPY_PARTS = texts.COPY_PARTS


# --- the messages ---------------------------------------------------------------------------


def _email_domain(contact: str | None) -> str | None:
    if not contact or "@" not in contact:
        return None
    domain = contact.rsplit("@", 1)[1].strip()
    return f"@{domain}" if domain else None


def situation(ctx: Context, interview: Interview) -> str:
    """What has actually happened by today: the promised day passed, or N days went by."""
    days = texts.days_since_interview(ctx, interview)
    promised = planning.promised_day_of(interview)
    if not texts.was_promised(interview):
        key = "guideline_passed" if ctx.today > promised else "since_interview"
        return ctx.t(f"reminders.when.{key}", company=interview.company, days=days)
    if ctx.today > promised:
        return ctx.t(
            "reminders.when.promise_passed",
            company=interview.company,
            due=ctx.fmt_date(promised),
            days=days,
        )
    return ctx.t("reminders.when.since_interview", company=interview.company, days=days)


def _checks(ctx: Context, interview: Interview) -> str:
    lines = [ctx.t(f"reminders.checks.{interview.contact_method}", company=interview.company)]
    return "\n".join(line.strip("\n") for line in lines)


def _with_hints(ctx: Context, interview: Interview, first: str) -> Reply:
    lines = [first]
    domain = _email_domain(interview.interviewer_contact)
    if domain is not None and not texts.is_agent(interview):
        lines.append(ctx.t("reminders.followup.domain_hint", domain=domain))
    if interview.asked_memo:
        lines.append(ctx.t("reminders.followup.memo", memo=interview.asked_memo))
    # Plain text: the 結果が来た button it speaks of is under the reminder's last message, so on
    # Telegram this joins the copyable texts as one message (a buzz and 1/30 s of the bulk budget
    # saved per reminder).
    return ctx.reply("\n\n".join(lines))


def _check_first(ctx: Context, interview: Interview) -> Reply:
    text = ctx.t(
        "reminders.followup.check_first",
        situation=situation(ctx, interview),
        checks=_checks(ctx, interview),
    )
    return _with_hints(ctx, interview, text)


def _template_name(interview: Interview, step: str) -> str:
    return "agent" if texts.is_agent(interview) else step


def _templates(ctx: Context, interview: Interview, step: str, extra: tuple[str, ...] = ()) -> Reply:
    """The copyable texts of ``step`` (followup, recheck) with what the user needs to use them."""
    order = texts.parts_order(interview)
    agent = texts.is_agent(interview)
    lines: list[str] = []
    if agent:
        lines.append(ctx.t("reminders.followup.agent"))
    if step == "recheck":
        lines.append(ctx.t("reminders.recheck.templates"))
    elif order[0] == "phone_script" and not agent:
        lines.append(ctx.t("reminders.followup.templates_phone_first"))
    else:
        lines.append(ctx.t("reminders.followup.templates"))
    lines.extend(extra)
    contact = texts.contact_line(
        ctx, interview.agent_contact if agent else interview.interviewer_contact
    )
    if contact is not None:
        lines.append(contact)
    lines.append(ctx.t("reminders.followup.call_hours"))
    items = texts.copy_items(ctx, interview, _template_name(interview, step), order)
    return ctx.reply("\n\n".join(line.strip("\n") for line in lines), copy_items=items)


def _nudge_buttons(ctx: Context, interview: Interview) -> list[Choice]:
    iid = interview.id
    return [
        ctx.button("reminders.button.followed", f"f:{iid}:done"),
        ctx.button("reminders.button.result_came", f"i:{iid}:res"),
        ctx.button("reminders.button.later", f"f:{iid}:later"),
        ctx.button("reminders.button.mute", f"f:{iid}:mute"),
    ]


def _recheck_buttons(ctx: Context, interview: Interview) -> list[Choice]:
    iid = interview.id
    return [
        ctx.button("reminders.button.followed", f"f:{iid}:done"),
        ctx.button("reminders.button.result_came", f"i:{iid}:res"),
        ctx.button("reminders.button.later", f"f:{iid}:wait"),
        ctx.button("reminders.button.mute", f"f:{iid}:mute"),
    ]


async def _callback(ctx: Context, interview: Interview) -> list[Reply]:
    """After a promise of a moment (明日15時まで): did the call come? If not, a call script.

    It speaks of the moment only: no "the promised day has passed", no count of days.
    """
    agent = texts.is_agent(interview)
    check = ctx.t(
        "reminders.callback.check",
        company=interview.company,
        at=texts.promised_at(ctx, interview),
        checks=_checks(ctx, interview),
    )
    lines = [ctx.t("reminders.followup.agent" if agent else "reminders.callback.script")]
    contact = texts.contact_line(
        ctx, interview.agent_contact if agent else interview.interviewer_contact
    )
    if contact is not None:
        lines.append(contact)
    lines.append(ctx.t("reminders.followup.call_hours"))
    items = (
        texts.copy_items(ctx, interview, "agent", texts.PHONE_FIRST)
        if agent
        else texts.copy_items(ctx, interview, texts.CALLBACK, texts.CALLBACK_PARTS)
    )
    closing = ctx.t("reminders.callback.closing", days=RECHECK_BUSINESS_DAYS)
    return [
        _with_hints(ctx, interview, check),
        ctx.reply("\n\n".join(line.strip("\n") for line in lines), copy_items=items),
        ctx.reply(closing, _nudge_buttons(ctx, interview)),
    ]


async def _followup(ctx: Context, interview: Interview) -> list[Reply]:
    if texts.is_timed(interview):
        return await _callback(ctx, interview)
    allow = planning.waiting_tags(interview.contact_method)
    [encouragement] = planning.pick_tips(ctx, "pools.encouragement", 1, allow=allow)
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1, allow=allow, avoid=[encouragement])
    closing = ctx.t(
        "reminders.followup.closing",
        encouragement=encouragement,
        care=care,
        days=RECHECK_BUSINESS_DAYS,
    )
    return [
        _check_first(ctx, interview),
        _templates(ctx, interview, "followup"),
        ctx.reply(closing, _nudge_buttons(ctx, interview)),
    ]


async def _recheck(ctx: Context, interview: Interview) -> list[Reply]:
    allow = planning.waiting_tags(interview.contact_method)
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1, allow=allow)
    advice = ctx.reply(
        ctx.t("reminders.recheck.advice", care=care),
        _recheck_buttons(ctx, interview),
    )
    if interview.followed_count == 0 or interview.first_followup_on is None:
        # Nobody said they followed up: a re-confirmation would claim a first contact.
        text = ctx.t(
            "reminders.recheck.not_followed",
            situation=situation(ctx, interview),
            checks=_checks(ctx, interview),
        )
        return [_with_hints(ctx, interview, text), _templates(ctx, interview, "followup"), advice]
    text = ctx.t(
        "reminders.recheck.followed",
        company=interview.company,
        first=ctx.fmt_date(interview.first_followup_on),
        days=max(0, (ctx.today - interview.first_followup_on).days),
        checks=_checks(ctx, interview),
    )
    extra = () if texts.is_agent(interview) else (ctx.t("reminders.recheck.other_channel"),)
    return [
        _with_hints(ctx, interview, text),
        _templates(ctx, interview, "recheck", extra),
        advice,
    ]


def _how_it_went(ctx: Context, interview: Interview) -> str:
    """How many times the user said they followed up, as it truly stands."""
    if interview.followed_count == 0 or interview.first_followup_on is None:
        return ctx.t(
            "reminders.no_response.not_followed",
            company=interview.company,
            days=texts.days_since_interview(ctx, interview),
        )
    first = ctx.fmt_date(interview.first_followup_on)
    if interview.followed_count == 1:
        return ctx.t("reminders.no_response.followed_once", company=interview.company, first=first)
    return ctx.t(
        "reminders.no_response.followed_more",
        company=interview.company,
        first=first,
        count=interview.followed_count,
    )


async def _closing_offer(ctx: Context, interview: Interview) -> list[Reply]:
    iid = interview.id
    parts = (_how_it_went(ctx, interview), ctx.t("reminders.no_response.choice"))
    text = "\n\n".join(part.strip("\n") for part in parts)
    return [
        ctx.reply(
            text,
            [
                ctx.button("reminders.button.mark_no_response", f"f:{iid}:none"),
                ctx.button("reminders.button.wait_more", f"f:{iid}:more"),
                ctx.button("reminders.button.result_came", f"i:{iid}:res"),
            ],
            columns=1,
        )
    ]


async def _halfway(ctx: Context, interview: Interview) -> list[Reply]:
    due = planning.promised_day_of(interview)
    key = "promised" if texts.was_promised(interview) else "guideline"
    text = ctx.t(
        f"reminders.halfway.{key}",
        company=interview.company,
        waited=texts.days_since_interview(ctx, interview),
        due=ctx.fmt_date(due),
        left=max(1, (due - ctx.today).days),
        check=ctx.t(f"reminders.halfway.check.{interview.contact_method}"),
        tips=ctx.bullets(
            planning.pick_tips(
                ctx, "pools.waiting", 2, allow=planning.waiting_tags(interview.contact_method)
            )
        ),
    )
    iid = interview.id
    return [
        ctx.reply(
            text,
            [
                ctx.button("reminders.button.result_came", f"i:{iid}:res"),
                ctx.button("reminders.button.mute", f"f:{iid}:mute"),
            ],
        )
    ]


# --- what each kind does ---------------------------------------------------------------------


async def _plan_next_step(ctx: Context, interview: Interview) -> None:
    """After a follow-up push, make sure something comes next even if no button is pressed.

    A re-check, which the registry turns into the closing offer once the nudges are used up.
    """
    if not await ctx.uow.reminders.pending_for_interview(interview.id):
        await planning.schedule_recheck(ctx, interview, business_days=RECHECK_BUSINESS_DAYS)


async def _plan_next_steps(delivered: Sequence[tuple[Context, Interview]]) -> None:
    """``_plan_next_step`` for the rows of a batch, in a few statements for them all."""
    await planning.schedule_recheck_unless_pending(delivered, business_days=RECHECK_BUSINESS_DAYS)


def _halfway_stale_from(ctx: Context, interview: Interview, due_at: datetime) -> date:
    # On the promised day the nudge has nothing left to say: "halfway" would be untrue.
    return planning.promised_day_of(interview)


def _retry_until(ctx: Context, interview: Interview, failing_since: datetime) -> date:
    # Past that, the wait it speaks of has moved on (a re-check would be due by now): a
    # follow-up the platform held back so long is given up, visibly, not sent out of step.
    day = calendar.local_today(failing_since, ctx.user.timezone)
    return calendar.add_business_days(day, RETRY_BUSINESS_DAYS) + timedelta(days=1)


def _halfway_enabled(ctx: Context) -> bool:
    return ctx.user.halfway_nudge


# A follow-up or re-check held up by downtime still goes out, however late (on the next
# business day): it is the interview's only planned step, and dropping it would leave the wait
# open for ever. Every kind here leads to contacting the company, so none goes out on a day
# the company is closed.
KINDS = ReminderKinds(
    [
        ReminderKindSpec(
            kind=ReminderKind.HALFWAY.value,
            compose=_halfway,
            stale_from=_halfway_stale_from,
            enabled=_halfway_enabled,
            business_days_only=True,
            # Nice to have: the first to go when LINE's monthly pushes run short.
            priority=Priority.OPTIONAL,
        ),
        ReminderKindSpec(
            kind=ReminderKind.FOLLOWUP.value,
            compose=_followup,
            after_sent=_plan_next_step,
            after_sent_many=_plan_next_steps,
            retry_until=_retry_until,
            counts_as_nudge=True,
            business_days_only=True,
        ),
        ReminderKindSpec(
            kind=ReminderKind.RECHECK.value,
            compose=_recheck,
            after_sent=_plan_next_step,
            after_sent_many=_plan_next_steps,
            retry_until=_retry_until,
            counts_as_nudge=True,
            business_days_only=True,
        ),
        # Snoozed by the user: the same message again, without using up a nudge.
        ReminderKindSpec(
            kind=ReminderKind.FOLLOWUP_LATER.value,
            compose=_followup,
            after_sent=_plan_next_step,
            after_sent_many=_plan_next_steps,
            retry_until=_retry_until,
            business_days_only=True,
        ),
        ReminderKindSpec(
            kind=ReminderKind.RECHECK_LATER.value,
            compose=_recheck,
            after_sent=_plan_next_step,
            after_sent_many=_plan_next_steps,
            retry_until=_retry_until,
            business_days_only=True,
        ),
        # The user's week at a glance; it belongs to the user, not to one interview.
        digest.SPEC,
        # A scheduled round's preparation (handlers/preparation.py).
        *preparation.KINDS,
    ],
    nudge_limit=MAX_NUDGES,
    # The reminder after the last nudge offers 連絡なし; only the user's tap sets it.
    past_limit=ReminderKindSpec(
        kind="no_response", compose=_closing_offer, business_days_only=True
    ),
)


def hold(
    ctx: Context, interview: Interview | None, reminder_kind: str, due_at: datetime
) -> Hold | None:
    """Decide whether a due reminder waits, stops, or (None) goes out now."""
    return KINDS.hold(ctx, interview, reminder_kind, due_at)


def resume_at(ctx: Context, reminder_kind: str) -> datetime:
    """Return when a deferred reminder may go out (the end of quiet hours, a business day)."""
    return KINDS.resume_at(ctx, reminder_kind)


async def compose(ctx: Context, interview: Interview, reminder_kind: str) -> list[Reply]:
    """Build the messages of one reminder, picking (and remembering) the tips it shows."""
    return await KINDS.compose(ctx, interview, reminder_kind)


async def after_sent(ctx: Context, interview: Interview, reminder_kind: str) -> None:
    """Count a delivered nudge and make sure the next step is planned."""
    await KINDS.after_sent(ctx, interview, reminder_kind)


# --- the buttons ----------------------------------------------------------------------------


async def followup_action(ctx: Context, args: list[str]) -> list[Reply]:
    """Handle ``f:<id>:<op>`` (done, later, wait, more, none, mute, came) on an own interview."""
    if len(args) != 2 or parse_id(args[0]) is None:
        return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
    interview = await ctx.uow.interviews.owned(ctx.user.id, int(args[0]))
    if interview is None:
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    status = InterviewStatus(interview.status)
    if not status.is_open:
        text = ctx.t(
            "reminders.action.closed",
            company=interview.company,
            status=ctx.t(f"status.{status.value}"),
        )
        return [ctx.reply(text, main_menu(ctx))]
    op = args[1]
    if op == "done":
        return await _followed(ctx, interview)
    if op in SNOOZED_KIND:
        return _snooze_choices(ctx, interview, op)
    snooze = _SNOOZE_OPS.get(op)
    if snooze is not None:
        return await _snooze(ctx, interview, *snooze)
    if op == "more":
        return await _wait_more(ctx, interview)
    if op == "none":
        return await _mark_no_response(ctx, interview)
    if op == "mute":
        return await _mute(ctx, interview)
    if op == "came":
        # The 結果が来てた button of follow-ups sent before it joined the copyable texts.
        return await outcome.ask_result(ctx, interview)
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]


async def _followed(ctx: Context, interview: Interview) -> list[Reply]:
    # Asking for the next check-in means the user wants reminders for it again.
    interview.muted = False
    interview.followed_count = (interview.followed_count or 0) + 1
    if interview.first_followup_on is None:
        interview.first_followup_on = ctx.today
    due = await planning.schedule_recheck(ctx, interview, business_days=RECHECK_BUSINESS_DAYS)
    await outcome.set_status(ctx, interview, InterviewStatus.FOLLOWED_UP)
    return [
        ctx.reply(
            ctx.t("reminders.action.followed", when=ctx.fmt_datetime(due)),
            [ctx.button("reminders.button.result_came", f"i:{interview.id}:res"), *main_menu(ctx)],
        )
    ]


def _snooze_choices(ctx: Context, interview: Interview, op: str) -> list[Reply]:
    """後で: when to come back (明日, 3日後, 来週), each a button that says its day at once."""
    iid = interview.id
    return [
        ctx.reply(
            ctx.t("reminders.action.snooze_when", company=interview.company),
            [
                ctx.button("reminders.button.snooze_tomorrow", f"f:{iid}:{op}{SNOOZE_TOMORROW}"),
                ctx.button(
                    "reminders.button.snooze_days", f"f:{iid}:{op}{SNOOZE_DAYS}", days=AGAIN_DAYS
                ),
                ctx.button("reminders.button.snooze_next_week", f"f:{iid}:{op}{SNOOZE_NEXT_WEEK}"),
            ],
            columns=3,
        )
    ]


async def _snooze(
    ctx: Context, interview: Interview, kind: ReminderKind, choice: str
) -> list[Reply]:
    # A snooze comes back as its own kind, which does not use up one of the nudges.
    interview.muted = False
    due = await planning.schedule_snooze(ctx, interview, kind, snooze_day(ctx.today, choice))
    return [ctx.reply(ctx.t("reminders.action.later", when=ctx.fmt_datetime(due)), main_menu(ctx))]


def snooze_day(today: date, choice: str) -> date:
    """The day a snooze choice names, before the move onto a business day."""
    if choice == SNOOZE_TOMORROW:
        return today + timedelta(days=1)
    if choice == SNOOZE_DAYS:
        return today + timedelta(days=AGAIN_DAYS)
    return calendar.first_business_day_of_next_week(today)


async def _wait_more(ctx: Context, interview: Interview) -> list[Reply]:
    # A re-check past the nudge limit is the closing offer again, a little later.
    interview.muted = False
    due = await planning.schedule_in_business_days(
        ctx, interview, ReminderKind.RECHECK, WAIT_MORE_BUSINESS_DAYS
    )
    return [ctx.reply(ctx.t("reminders.action.later", when=ctx.fmt_datetime(due)), main_menu(ctx))]


async def _mark_no_response(ctx: Context, interview: Interview) -> list[Reply]:
    await outcome.set_status(ctx, interview, InterviewStatus.NO_RESPONSE)
    # The wait is over: no tip that assumes the result is still coming.
    tips = planning.pick_tips(ctx, "pools.no_response", 2)
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1, avoid=tips)
    return [
        ctx.reply(ctx.t("reminders.no_response.marked", company=interview.company)),
        ctx.reply(
            ctx.t("reminders.no_response.way_forward", tips=ctx.bullets(tips), care=care),
            [
                ctx.button("reminders.button.result_came", f"i:{interview.id}:res"),
                ctx.button("menu.new", "m:new"),
                ctx.button("menu.list", "m:list"),
            ],
        ),
    ]


async def _mute(ctx: Context, interview: Interview) -> list[Reply]:
    interview.muted = True
    await ctx.uow.reminders.cancel_for_interview(interview.id)
    return [
        ctx.reply(
            ctx.t("reminders.action.muted", company=interview.company),
            [ctx.button("reminders.button.result_came", f"i:{interview.id}:res"), *main_menu(ctx)],
        )
    ]
