"""The list: one card per application (a company with its rounds), with a pipeline of the
rounds, the latest round's status, days waited with a progress bar, next check-in, actions;
ten applications a page."""

from __future__ import annotations

from domain.parsing import parse_id
from domain.protocol import Reply
from handlers import calendar_files, confirming, notes, outcome, planning
from handlers import interview as interview_flow
from handlers.context import Context
from handlers.menu import main_menu
from storage.models import Interview, InterviewStatus

BAR_CELLS = 10
MAX_CARDS = 10
PAGE = "pg"


def progress_bar(waited: int, total: int) -> str:
    """``▓▓▓▓▓▓░░░░``: the share of the promised wait that has gone by."""
    total = max(total, 1)
    filled = min(BAR_CELLS, max(0, round(BAR_CELLS * waited / total)))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def pipeline(ctx: Context, rounds: list[Interview]) -> str:
    """``一次 ✓ → 二次 ✓ → 最終 (3月10日 14:00)``: each round by its stage and how it stands."""
    steps = []
    for round_ in rounds:
        when = ctx.fmt_datetime(round_.scheduled_at) if round_.scheduled_at is not None else ""
        steps.append(
            ctx.t(
                f"list.round.{round_.status}",
                stage=ctx.t(f"list.stage_short.{round_.stage}"),
                when=when,
            )
        )
    return ctx.t("list.pipeline_join").join(steps)


async def card(ctx: Context, interview: Interview, rounds: str | None = None) -> Reply:
    status = InterviewStatus(interview.status)
    head = ctx.t(
        "list.card_head",
        company=interview.company,
        stage=ctx.t(f"interview.stage.{interview.stage}"),
        date=ctx.fmt_date(interview.interview_date),
        status=ctx.t(f"status.{status.value}"),
    )
    lines = [head]
    if rounds is not None:
        lines.insert(0, ctx.t("list.pipeline", rounds=rounds))
    if status is InterviewStatus.SCHEDULED and interview.scheduled_at is not None:
        lines.append(ctx.t("list.round_at", when=ctx.fmt_datetime(interview.scheduled_at)))
        if interview.place:
            lines.append(ctx.t("list.round_place", place=interview.place))
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
    if status is InterviewStatus.SCHEDULED:
        choices.append(ctx.button("list.record_round", f"i:{iid}:held"))
    choices += [ctx.button("list.edit", f"i:{iid}:edit"), ctx.button("list.delete", f"i:{iid}:del")]
    choices.append(calendar_files.button(ctx, iid))
    choices.append(ctx.button("notes.add", f"i:{iid}:note"))
    return ctx.reply("\n".join(lines), choices, columns=3)


def _in_progress(rounds: list[Interview]) -> bool:
    status = InterviewStatus(rounds[-1].status)
    return status.is_open or status is InterviewStatus.SCHEDULED


async def applications_of(ctx: Context) -> list[list[Interview]]:
    """The user's applications as their rounds (first round first), in the order listed:
    those in progress first, then by their latest round, newest first."""
    interviews = await ctx.uow.interviews.for_user(ctx.user.id)
    grouped: dict[int, list[Interview]] = {}
    alone: list[list[Interview]] = []
    for interview in interviews:
        if interview.application_id is None:
            alone.append([interview])
        else:
            grouped.setdefault(interview.application_id, []).append(interview)
    groups = [*grouped.values(), *alone]
    for rounds in groups:
        rounds.sort(key=lambda i: (i.interview_date, i.id))
    groups.sort(key=lambda r: (r[-1].interview_date, r[-1].id), reverse=True)
    groups.sort(key=lambda r: not _in_progress(r))
    return groups


async def show_list(ctx: Context, page: int = 1) -> list[Reply]:
    groups = await applications_of(ctx)
    if not groups:
        return [ctx.reply(ctx.t("list.empty"), main_menu(ctx))]
    pages = (len(groups) + MAX_CARDS - 1) // MAX_CARDS
    page = min(max(page, 1), pages)
    shown = groups[(page - 1) * MAX_CARDS : page * MAX_CARDS]
    head = ctx.t("list.header", count=sum(len(rounds) for rounds in groups))
    if pages > 1:
        head = ctx.t("list.header_page", head=head, page=page, pages=pages)
    replies = [ctx.reply(head)]
    for rounds in shown:
        steps = pipeline(ctx, rounds) if len(rounds) > 1 else None
        replies.append(await card(ctx, rounds[-1], steps))
    more = [ctx.button("list.next_page", f"i:{PAGE}:{page + 1}")] if page < pages else []
    replies.append(ctx.reply(ctx.t("list.footer"), [*more, *main_menu(ctx)]))
    return replies


def _delete_step(interview_id: int) -> str:
    return f"delete:{interview_id}"


async def interview_action(ctx: Context, args: list[str]) -> list[Reply]:
    """``i:<id>:<op>`` from a card; the id counts only if the interview is the presser's own."""
    if len(args) == 2 and args[0] == PAGE and parse_id(args[1]) is not None:
        return await show_list(ctx, int(args[1]))
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
    if op == "held":
        if found.status != InterviewStatus.SCHEDULED.value:
            return [ctx.reply(ctx.t("list.round_recorded", company=found.company), main_menu(ctx))]
        await ctx.end_flow()
        return await interview_flow.begin_held(ctx, found)
    if op == "del":
        await confirming.ask(ctx, _delete_step(found.id))
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
        if not confirming.is_open(ctx, _delete_step(found.id)):
            return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
        await ctx.end_flow()
        company = found.company
        cancel = await calendar_files.hold_cancellation(ctx, found)
        application_id = found.application_id
        await ctx.uow.interviews.delete(found)
        if application_id is not None:
            await ctx.uow.applications.delete_if_empty(ctx.user.id, application_id)
        if cancel is not None:
            return [
                ctx.reply(ctx.t("list.deleted", company=company)),
                ctx.reply(ctx.t("calendar.cancel_offer"), [cancel, *main_menu(ctx)]),
            ]
        return [ctx.reply(ctx.t("list.deleted", company=company), main_menu(ctx))]
    if op == "keep":
        await confirming.close(ctx)
        return [ctx.reply(ctx.t("list.kept"), main_menu(ctx))]
    return [ctx.reply(ctx.t("errors.stale_button"), main_menu(ctx))]
