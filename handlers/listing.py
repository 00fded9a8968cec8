"""The list of interviews: status, days waited with a progress bar, next check-in, actions."""

from __future__ import annotations

from domain.parsing import parse_id
from domain.protocol import Reply
from handlers import calendar_files, notes, outcome, planning, privacy
from handlers import interview as interview_flow
from handlers.context import Context
from handlers.menu import main_menu
from storage.models import Interview, InterviewStatus

BAR_CELLS = 10
MAX_CARDS = 10


def progress_bar(waited: int, total: int) -> str:
    """``▓▓▓▓▓▓░░░░``: the share of the promised wait that has gone by."""
    total = max(total, 1)
    filled = min(BAR_CELLS, max(0, round(BAR_CELLS * waited / total)))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


async def card(ctx: Context, interview: Interview) -> Reply:
    status = InterviewStatus(interview.status)
    head = ctx.t(
        "list.card_head",
        company=interview.company,
        stage=ctx.t(f"interview.stage.{interview.stage}"),
        date=ctx.fmt_date(interview.interview_date),
        status=ctx.t(f"status.{status.value}"),
    )
    lines = [head]
    if status.is_open:
        due = planning.promised_day_of(interview)
        total = (due - interview.interview_date).days
        waited = max(0, (ctx.today - interview.interview_date).days)
        lines.append(
            ctx.t("list.progress", bar=progress_bar(waited, total), waited=waited, total=total)
        )
        checkin = await planning.next_checkin(ctx, interview)
        lines.append(
            ctx.t("list.next_checkin", when=ctx.fmt_datetime(checkin))
            if checkin is not None
            else ctx.t("list.no_checkin")
        )
    lines += await notes.card_lines(ctx, interview)
    iid = interview.id
    # 連絡なし is the user's own call, not a result: a late answer can still be recorded.
    awaiting = status.is_open or status is InterviewStatus.NO_RESPONSE
    choices = [ctx.button("list.result_came", f"i:{iid}:res")] if awaiting else []
    choices += [ctx.button("list.edit", f"i:{iid}:edit"), ctx.button("list.delete", f"i:{iid}:del")]
    choices.append(calendar_files.button(ctx, iid))
    choices.append(ctx.button("notes.add", f"i:{iid}:note"))
    return ctx.reply("\n".join(lines), choices, columns=3)


async def show_list(ctx: Context) -> list[Reply]:
    interviews = list(await ctx.uow.interviews.for_user(ctx.user.id))
    if not interviews:
        return [ctx.reply(ctx.t("list.empty"), main_menu(ctx))]
    # Open ones first, newest first within each group.
    interviews.sort(key=lambda i: not InterviewStatus(i.status).is_open)
    shown = interviews[:MAX_CARDS]
    replies = [ctx.reply(ctx.t("list.header", count=len(interviews)))]
    replies += [await card(ctx, i) for i in shown]
    if len(interviews) > len(shown):
        replies.append(ctx.reply(ctx.t("list.more", count=len(interviews) - len(shown))))
    replies.append(ctx.reply(ctx.t("list.footer"), main_menu(ctx)))
    return replies


def _delete_step(interview_id: int) -> str:
    return f"delete:{interview_id}"


async def interview_action(ctx: Context, args: list[str]) -> list[Reply]:
    """``i:<id>:<op>`` from a card; the id counts only if the interview is the presser's own."""
    if len(args) != 2 or parse_id(args[0]) is None:
        return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
    found = await ctx.uow.interviews.owned(ctx.user.id, int(args[0]))
    if found is None:
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    op = args[1]
    if op == "res":
        return await outcome.ask_result(ctx, found)
    if op == "edit":
        await ctx.end_flow()
        return await interview_flow.begin_edit(ctx, found)
    if op == "note":
        await ctx.end_flow()
        return await notes.begin(ctx, found)
    if op == "del":
        await ctx.go(privacy.CONFIRM_FLOW, _delete_step(found.id), {})
        return [
            ctx.reply(
                ctx.t("list.confirm_delete", company=found.company),
                [
                    ctx.button("list.delete_yes", f"i:{found.id}:delok"),
                    ctx.button("list.delete_no", f"i:{found.id}:keep"),
                ],
            )
        ]
    if op == "delok":
        if (ctx.flow, ctx.step) != (privacy.CONFIRM_FLOW, _delete_step(found.id)):
            return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
        await ctx.end_flow()
        company = found.company
        cancel = await calendar_files.hold_cancellation(ctx, found)
        await ctx.uow.interviews.delete(found)
        if cancel is not None:
            return [
                ctx.reply(ctx.t("list.deleted", company=company)),
                ctx.reply(ctx.t("calendar.cancel_offer"), [cancel, *main_menu(ctx)]),
            ]
        return [ctx.reply(ctx.t("list.deleted", company=company), main_menu(ctx))]
    if op == "keep":
        if ctx.flow == privacy.CONFIRM_FLOW:
            await ctx.end_flow()
        return [ctx.reply(ctx.t("list.kept"), main_menu(ctx))]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
