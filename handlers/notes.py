"""Notes on an interview (追記): a dated line added from its card, shown there and in /export.

The preparation reminder reads them too, through ``uow.notes.notes_for(interview_id)``.
"""

from __future__ import annotations

from domain import calendar
from domain.parsing import TextProblem, clean_text
from domain.protocol import Reply
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu
from storage.models import Interview

FLOW = "note"
STEP = "text"
NOTE_MAX = 1000
# How many notes a card shows, and how much of each.
ON_CARD, PREVIEW_MAX = 3, 80


async def begin(ctx: Context, interview: Interview) -> list[Reply]:
    await ctx.go(FLOW, STEP, {"iid": interview.id, "company": interview.company})
    return [_ask(ctx, interview.company)]


def _ask(ctx: Context, company: str) -> Reply:
    return ctx.reply(
        ctx.t("notes.ask", company=company, limit=NOTE_MAX),
        [ctx.button("controls.cancel", flow_action(FLOW, STEP, CANCEL))],
    )


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    data = ctx.data
    company = str(data.get("company", ""))
    if reply.value in (CANCEL, BACK, SKIP):
        await ctx.end_flow()
        return [ctx.reply(ctx.t("notes.cancelled"), main_menu(ctx))]
    if reply.text is None:
        return [_ask(ctx, company)]
    cleaned = clean_text(reply.text, NOTE_MAX)
    if isinstance(cleaned, TextProblem):
        # Refused as typed; the question stays open, so the user can shorten it and send again.
        return [ctx.reply(ctx.t(f"problems.{cleaned.value}", limit=NOTE_MAX)), _ask(ctx, company)]
    iid = data.get("iid")
    found = await ctx.uow.interviews.owned(ctx.user.id, iid) if isinstance(iid, int) else None
    await ctx.end_flow()
    if found is None:
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    ctx.uow.notes.add(found, cleaned, ctx.now)
    return [
        ctx.reply(
            ctx.t("notes.saved", company=found.company, date=ctx.fmt_date(ctx.today)),
            main_menu(ctx),
        )
    ]


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_MAX else flat[: PREVIEW_MAX - 1] + "…"


async def card_lines(ctx: Context, interview: Interview) -> list[str]:
    """The latest notes as a card shows them, with their dates; nothing when there are none."""
    latest = await ctx.uow.notes.notes_for(interview.id, limit=ON_CARD)
    if not latest:
        return []
    lines = [ctx.t("notes.heading")]
    for note in latest:
        day = calendar.to_local(note.created_at, ctx.user.timezone).date()
        lines.append(ctx.t("notes.line", date=ctx.fmt_date(day), text=_preview(note.text)))
    total = await ctx.uow.notes.count_for(interview.id)
    if total > len(latest):
        lines.append(ctx.t("notes.more", count=total - len(latest)))
    return lines
