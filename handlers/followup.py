"""What each reminder kind says and does (halfway, follow-up, re-check, no response)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import calendar
from domain.calendar import PromisedPeriod
from domain.parsing import parse_id
from domain.protocol import Choice, CopyItem, Reply
from handlers import interview as interview_flow
from handlers import outcome, planning
from handlers.context import Context
from handlers.menu import main_menu
from handlers.reminder_kinds import Hold as Hold
from handlers.reminder_kinds import ReminderKinds, ReminderKindSpec
from storage.models import Interview, InterviewStatus, ReminderKind

# Follow-up nudges (the promised-day one, a repeat, a re-check) an interview gets at most;
# the reminder after the last one closes the interview as NO_RESPONSE instead.
MAX_NUDGES = 2
RECHECK_BUSINESS_DAYS = 3
AGAIN_DAYS = 3
# A follow-up or re-check the platform keeps failing is retried through this many business
# days after the day the failures began.
RETRY_BUSINESS_DAYS = 3
COPY_PARTS = ("email_subject", "email_body", "phone_script")


# --- filling the templates ------------------------------------------------------------------


def addressee(ctx: Context, interviewer_name: str | None) -> str:
    """Name the interviewer with one polite suffix, or fall back to the generic form."""
    name = (interviewer_name or "").strip()
    honorifics = ctx.pool("reminders.honorifics")
    stripped = True
    while name and stripped:
        stripped = False
        for suffix in honorifics:
            if name.casefold().endswith(suffix.casefold()) and len(name) > len(suffix):
                name = name[: -len(suffix)].rstrip()
                stripped = True
    if not name:
        return ctx.t("reminders.addressee_generic")
    return ctx.t("reminders.addressee_named", name=name)


def promised_text(ctx: Context, stored: str) -> str:
    """Phrase the promised period as it reads inside a template (2週間以内, soon)."""
    return interview_flow.describe_period(
        ctx, PromisedPeriod.from_storage(stored), catalog_table="template_period"
    )


def template_fields(ctx: Context, interview: Interview) -> dict[str, str]:
    return {
        "sender": ctx.user.display_name or ctx.t("reminders.sender_fallback"),
        "company": interview.company,
        "addressee": addressee(ctx, interview.interviewer_name),
        "interview_date": ctx.fmt_date(interview.interview_date),
        "promised": promised_text(ctx, interview.promised),
        "stage": ctx.t(f"template_stage.{interview.stage}"),
    }


def copy_items(ctx: Context, interview: Interview, template: str) -> tuple[CopyItem, ...]:
    """Fill the email subject, email body and phone script, each ready to copy."""
    fields = template_fields(ctx, interview)
    return tuple(
        CopyItem(
            label=ctx.t(f"reminders.copy.{part}"),
            text=ctx.t(f"templates.{template}.{part}", **fields).strip("\n"),
        )
        for part in COPY_PARTS
    )


def _email_domain(contact: str | None) -> str | None:
    if not contact or "@" not in contact:
        return None
    domain = contact.rsplit("@", 1)[1].strip()
    return f"@{domain}" if domain else None


# --- the messages ---------------------------------------------------------------------------


def _nudge_buttons(ctx: Context, interview: Interview) -> list[Choice]:
    iid = interview.id
    return [
        ctx.button("reminders.button.followed", f"f:{iid}:done"),
        ctx.button("reminders.button.result_came", f"i:{iid}:res"),
        ctx.button("reminders.button.later", f"f:{iid}:later", days=AGAIN_DAYS),
        ctx.button("reminders.button.mute", f"f:{iid}:mute"),
    ]


def _check_first(ctx: Context, interview: Interview, key: str, **params: object) -> Reply:
    lines = [ctx.t(key, company=interview.company, **params)]
    domain = _email_domain(interview.interviewer_contact)
    if domain is not None:
        lines.append(ctx.t("reminders.followup.domain_hint", domain=domain))
    if interview.asked_memo:
        lines.append(ctx.t("reminders.followup.memo", memo=interview.asked_memo))
    return ctx.reply(
        "\n\n".join(lines),
        [ctx.button("reminders.button.result_arrived", f"f:{interview.id}:came")],
        columns=1,
    )


def _templates(ctx: Context, interview: Interview, intro_key: str, template: str) -> Reply:
    lines = [ctx.t(intro_key)]
    if interview.interviewer_contact:
        lines.append(ctx.t("reminders.followup.send_to", contact=interview.interviewer_contact))
    return ctx.reply("\n".join(lines), copy_items=copy_items(ctx, interview, template))


async def _followup(ctx: Context, interview: Interview) -> list[Reply]:
    [encouragement] = planning.pick_tips(ctx, "pools.encouragement", 1)
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1)
    closing = ctx.t(
        "reminders.followup.closing",
        encouragement=encouragement,
        care=care,
        days=RECHECK_BUSINESS_DAYS,
    )
    return [
        _check_first(ctx, interview, "reminders.followup.check_first"),
        _templates(ctx, interview, "reminders.followup.templates", "followup"),
        ctx.reply(closing, _nudge_buttons(ctx, interview)),
    ]


async def _recheck(ctx: Context, interview: Interview) -> list[Reply]:
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1)
    return [
        _check_first(ctx, interview, "reminders.recheck.check_first", days=RECHECK_BUSINESS_DAYS),
        _templates(ctx, interview, "reminders.recheck.templates", "recheck"),
        ctx.reply(ctx.t("reminders.recheck.advice", care=care), _nudge_buttons(ctx, interview)),
    ]


async def _no_response(ctx: Context, interview: Interview) -> list[Reply]:
    tips = planning.pick_tips(ctx, "pools.no_response", 2)
    [care] = planning.pick_tips(ctx, "pools.mental_care", 1)
    return [
        ctx.reply(ctx.t("reminders.no_response.text", company=interview.company)),
        ctx.reply(
            ctx.t("reminders.no_response.way_forward", tips=ctx.bullets(tips), care=care),
            [
                ctx.button("reminders.button.result_came", f"i:{interview.id}:res"),
                ctx.button("menu.new", "m:new"),
                ctx.button("menu.list", "m:list"),
            ],
        ),
    ]


async def _halfway(ctx: Context, interview: Interview) -> list[Reply]:
    due = planning.promised_followup_day(interview)
    text = ctx.t(
        "reminders.halfway.text",
        company=interview.company,
        waited=max(0, (ctx.today - interview.interview_date).days),
        due=ctx.fmt_date(due),
        left=max(1, (due - ctx.today).days),
        check=ctx.t(f"reminders.halfway.check.{interview.contact_method}"),
        tips=ctx.bullets(planning.pick_tips(ctx, "pools.waiting", 2)),
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


async def _plan_closing_check(ctx: Context, interview: Interview) -> None:
    if interview.followups_sent >= MAX_NUDGES and not (
        await ctx.uow.reminders.pending_for_interview(interview.id)
    ):
        # The user may press nothing after the last nudge; a closing check still ends the
        # wait gently instead of leaving the interview open for ever.
        await planning.schedule_recheck(ctx, interview, business_days=RECHECK_BUSINESS_DAYS)


async def _close_as_no_response(ctx: Context, interview: Interview) -> None:
    await outcome.set_status(ctx, interview, InterviewStatus.NO_RESPONSE)


def _halfway_stale_from(ctx: Context, interview: Interview, due_at: datetime) -> date:
    # Once the follow-up day has come, the follow-up itself is due: the nudge says nothing.
    return planning.promised_followup_day(interview)


def _retry_until(ctx: Context, interview: Interview, failing_since: datetime) -> date:
    # Past that, the wait it speaks of has moved on (a re-check would be due by now): a
    # follow-up the platform held back so long is given up, visibly, not sent out of step.
    day = calendar.local_today(failing_since, ctx.user.timezone)
    return calendar.add_business_days(day, RETRY_BUSINESS_DAYS) + timedelta(days=1)


def _halfway_enabled(ctx: Context) -> bool:
    return ctx.user.halfway_nudge


# A follow-up or re-check held up by downtime still goes out, however late, on any day: it
# is the interview's only planned step, and dropping it would leave the wait open for ever.
# (The planner already puts them on business days.)
KINDS = ReminderKinds(
    [
        ReminderKindSpec(
            kind=ReminderKind.HALFWAY.value,
            compose=_halfway,
            stale_from=_halfway_stale_from,
            enabled=_halfway_enabled,
        ),
        ReminderKindSpec(
            kind=ReminderKind.FOLLOWUP.value,
            compose=_followup,
            after_sent=_plan_closing_check,
            retry_until=_retry_until,
            counts_as_nudge=True,
        ),
        ReminderKindSpec(
            kind=ReminderKind.RECHECK.value,
            compose=_recheck,
            after_sent=_plan_closing_check,
            retry_until=_retry_until,
            counts_as_nudge=True,
        ),
    ],
    nudge_limit=MAX_NUDGES,
    # The reminder after the last nudge: offer 連絡なし, and close the interview with it.
    past_limit=ReminderKindSpec(
        kind="no_response", compose=_no_response, after_sent=_close_as_no_response
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
    """Count a delivered nudge; after the last one, close the interview as NO_RESPONSE."""
    await KINDS.after_sent(ctx, interview, reminder_kind)


# --- the buttons ----------------------------------------------------------------------------


async def followup_action(ctx: Context, args: list[str]) -> list[Reply]:
    """Handle ``f:<id>:<done|later|mute|came>`` for the presser's own open interview."""
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
    if op == "later":
        return await _later(ctx, interview)
    if op == "mute":
        return await _mute(ctx, interview)
    if op == "came":
        return await outcome.ask_result(ctx, interview)
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]


async def _followed(ctx: Context, interview: Interview) -> list[Reply]:
    # Asking for the next check-in means the user wants reminders for it again.
    interview.muted = False
    due = await planning.schedule_recheck(ctx, interview, business_days=RECHECK_BUSINESS_DAYS)
    await outcome.set_status(ctx, interview, InterviewStatus.FOLLOWED_UP)
    return [
        ctx.reply(
            ctx.t("reminders.action.followed", when=ctx.fmt_datetime(due)),
            [ctx.button("reminders.button.result_came", f"i:{interview.id}:res"), *main_menu(ctx)],
        )
    ]


async def _later(ctx: Context, interview: Interview) -> list[Reply]:
    interview.muted = False
    kind = (
        ReminderKind.RECHECK
        if interview.status == InterviewStatus.FOLLOWED_UP.value
        else ReminderKind.FOLLOWUP
    )
    due = await planning.schedule_again(ctx, interview, kind, AGAIN_DAYS)
    return [ctx.reply(ctx.t("reminders.action.later", when=ctx.fmt_datetime(due)), main_menu(ctx))]


async def _mute(ctx: Context, interview: Interview) -> list[Reply]:
    interview.muted = True
    await ctx.uow.reminders.cancel_for_interview(interview.id)
    return [
        ctx.reply(
            ctx.t("reminders.action.muted", company=interview.company),
            [ctx.button("reminders.button.result_came", f"i:{interview.id}:res"), *main_menu(ctx)],
        )
    ]
