"""The result came: passed, rejected or declined; support after a rejection."""

from __future__ import annotations

from domain.parsing import TextProblem, clean_text, parse_id
from domain.protocol import Reply
from handlers import followup_texts, planning
from handlers import interview as interview_flow
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu
from storage.models import Interview, InterviewStatus

FLOW = "outcome"
REFLECTION_MAX = 1000
OUTCOMES = {
    "pass": InterviewStatus.PASSED,
    "rej": InterviewStatus.REJECTED,
    "decl": InterviewStatus.DECLINED,
}
NEXT_STAGE = {"casual": "first", "first": "second", "second": "final", "final": "other"}
# Passing this stage is an offer (内定), not a next round.
OFFER_STAGE = "final"
# How much of the user's own note to quote back after a rejection.
QUOTE_MAX = 60


async def ask_result(ctx: Context, interview: Interview) -> list[Reply]:
    iid = interview.id
    return [
        ctx.reply(
            ctx.t("outcome.ask", company=interview.company),
            [
                ctx.button("outcome.choice.pass", f"o:{iid}:pass"),
                ctx.button("outcome.choice.rej", f"o:{iid}:rej"),
                ctx.button("outcome.choice.decl", f"o:{iid}:decl"),
            ],
            columns=3,
        )
    ]


async def set_status(ctx: Context, interview: Interview, status: InterviewStatus) -> None:
    """Change the status, keep the history, and stop whatever reminders were pending."""
    if interview.status != status.value:
        ctx.uow.history.record(interview.id, interview.status, status.value)
        interview.status = status.value
    if not status.is_open:
        await ctx.uow.reminders.cancel_for_interview(interview.id)


async def outcome_action(ctx: Context, args: list[str]) -> list[Reply]:
    """``o:<id>:<pass|rej|decl|next|reflect>``; the id must be the presser's own interview."""
    if len(args) != 2 or parse_id(args[0]) is None:
        return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
    interview = await ctx.uow.interviews.owned(ctx.user.id, int(args[0]))
    if interview is None:
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    op = args[1]
    if op in OUTCOMES:
        await ctx.end_flow()
        await set_status(ctx, interview, OUTCOMES[op])
        return _after(ctx, interview, op)
    if op == "next":
        await ctx.end_flow()
        return await interview_flow.begin_next_round(
            ctx, interview.company, NEXT_STAGE.get(interview.stage, "other"), previous=interview
        )
    if op == "reflect":
        await ctx.go(FLOW, "reflect", {"iid": interview.id})
        return [_ask_reflection(ctx)]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]


def _after(ctx: Context, interview: Interview, op: str) -> list[Reply]:
    iid = interview.id
    if op == "pass" and interview.stage == OFFER_STAGE:
        return offer(ctx, interview)
    if op == "pass":
        return [
            ctx.reply(
                ctx.t("outcome.passed", company=interview.company),
                [ctx.button("outcome.record_next", f"o:{iid}:next"), *main_menu(ctx)],
            )
        ]
    if op == "decl":
        return [ctx.reply(ctx.t("outcome.declined", company=interview.company), main_menu(ctx))]
    # After a no, nothing tagged [waiting]: the inbox is no longer worth watching.
    care = planning.pick_tips(ctx, "pools.mental_care", 1)
    tips = planning.pick_tips(ctx, "pools.after_rejection", 2, avoid=care)
    return [
        ctx.reply(ctx.t("outcome.rejected", company=interview.company)),
        ctx.reply(ctx.t("outcome.care", tip=care[0])),
        ctx.reply(
            ctx.t(
                "outcome.reflect_and_next",
                questions=ctx.bullets(_reflection_questions(ctx, interview)),
                tips=ctx.bullets(tips),
            ),
            [ctx.button("outcome.write_reflection", f"o:{iid}:reflect"), *main_menu(ctx)],
        ),
    ]


def _own_note(interview: Interview) -> str | None:
    """The first thing the user wrote under 次に活かしたいこと, short enough to quote."""
    lines = [line.strip() for line in (interview.reflection_improve or "").splitlines()]
    first = next((line for line in lines if line), None)
    if first is None:
        return None
    return first if len(first) <= QUOTE_MAX else first[: QUOTE_MAX - 1] + "…"


def _reflection_questions(ctx: Context, interview: Interview) -> list[str]:
    """Two questions; the user's own note, when there is one, instead of a generic first."""
    note = _own_note(interview)
    if note is None:
        return planning.pick_tips(ctx, "pools.reflection_questions", 2)
    own = ctx.t("outcome.own_note", note=note)
    return [own, *planning.pick_tips(ctx, "pools.reflection_questions", 1)]


def offer(ctx: Context, interview: Interview) -> list[Reply]:
    """A pass at the final interview: an offer, what to do next, and a reply to copy."""
    items = followup_texts.copy_items(ctx, interview, "offer")
    return [
        ctx.reply(ctx.t("outcome.offer", company=interview.company)),
        ctx.reply(ctx.t("outcome.offer_next")),
        ctx.reply(ctx.t("outcome.offer_templates"), main_menu(ctx), copy_items=items),
    ]


def _ask_reflection(ctx: Context) -> Reply:
    return ctx.reply(
        ctx.t("outcome.ask_reflection", limit=REFLECTION_MAX),
        [ctx.button("controls.cancel", flow_action(FLOW, "reflect", CANCEL))],
    )


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    if reply.value is None and reply.text is None:
        return [_ask_reflection(ctx)]
    if reply.value in (CANCEL, BACK, SKIP):
        await ctx.end_flow()
        return [ctx.reply(ctx.t("outcome.reflection_skipped"), main_menu(ctx))]
    cleaned = clean_text(reply.text or "", REFLECTION_MAX)
    if isinstance(cleaned, TextProblem):
        return [
            ctx.reply(ctx.t(f"problems.{cleaned.value}", limit=REFLECTION_MAX)),
            _ask_reflection(ctx),
        ]
    interview = await ctx.uow.interviews.owned(ctx.user.id, int(ctx.data.get("iid", 0)))
    await ctx.end_flow()
    if interview is None:
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    note = ctx.t("outcome.reflection_entry", date=ctx.fmt_date(ctx.today), text=cleaned)
    previous = interview.reflection_improve
    interview.reflection_improve = f"{previous}\n{note}" if previous else note
    return [ctx.reply(ctx.t("outcome.reflection_saved"), main_menu(ctx))]
