"""/stats (統計): applications, interviews by stage, answers, pass rates and time to an answer."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from domain import calendar
from domain.protocol import Image, Reply
from handlers import stats_chart
from handlers.context import Context
from handlers.menu import main_menu
from handlers.registration import STAGES
from handlers.stats_chart import Bar, Segment
from storage.models import Interview, InterviewStatus

ANSWERED = (InterviewStatus.PASSED, InterviewStatus.REJECTED, InterviewStatus.DECLINED)
# Drawn bottom to top, and named in this order in the legend.
OUTCOME_COLOURS = {
    InterviewStatus.PASSED: (46, 160, 67),
    InterviewStatus.REJECTED: (214, 69, 65),
    InterviewStatus.DECLINED: (142, 108, 184),
    InterviewStatus.NO_RESPONSE: (150, 150, 150),
    "pending": (66, 133, 244),
}


def _outcome(status: InterviewStatus) -> InterviewStatus | str:
    return "pending" if status.is_open else status


@dataclass
class Stats:
    companies: int = 0
    interviews: int = 0
    # stage -> outcome (an answered status, no_response, or "pending") -> count
    by_stage: dict[str, Counter[InterviewStatus | str]] = field(default_factory=dict)
    days_to_answer: list[int] = field(default_factory=list)

    def count(self, outcome: InterviewStatus | str) -> int:
        return sum(c[outcome] for c in self.by_stage.values())

    @property
    def answered(self) -> int:
        return sum(self.count(s) for s in ANSWERED)

    @property
    def average_days(self) -> float | None:
        if not self.days_to_answer:
            return None
        return sum(self.days_to_answer) / len(self.days_to_answer)


def _company_key(name: str) -> str:
    # 株式会社サンプル and ｶﾌﾞｼｷｶﾞｲｼｬ... typed twice differently still count once.
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


async def gather(ctx: Context) -> Stats:
    """The user's own numbers, from their interviews and each one's status history."""
    interviews = list(await ctx.uow.interviews.for_user(ctx.user.id))
    stats = Stats(
        companies=len({_company_key(i.company) for i in interviews}),
        interviews=len(interviews),
    )
    for interview in interviews:
        status = InterviewStatus(interview.status)
        stats.by_stage.setdefault(interview.stage, Counter())[_outcome(status)] += 1
        answered_on = await _first_answer_day(ctx, interview)
        if answered_on is not None:
            stats.days_to_answer.append(max(0, (answered_on - interview.interview_date).days))
    return stats


async def _first_answer_day(ctx: Context, interview: Interview) -> date | None:
    for change in await ctx.uow.history.for_interview(interview.id):
        if change.to_status in {s.value for s in ANSWERED}:
            return calendar.to_local(change.changed_at, ctx.user.timezone).date()
    return None


def _stages(stats: Stats) -> list[str]:
    """Stages the user has interviews at, in the order of the registration question."""
    known = [s for s in STAGES if s in stats.by_stage]
    return known + sorted(s for s in stats.by_stage if s not in STAGES)


def _stage_name(ctx: Context, stage: str) -> str:
    return ctx.t(f"interview.stage.{stage}") if stage in STAGES else stage


def _outcome_name(ctx: Context, outcome: InterviewStatus | str) -> str:
    return ctx.t(f"stats.outcome.{outcome}")


def _text(ctx: Context, stats: Stats, stages: list[str]) -> str:
    lines = [
        ctx.t("stats.title"),
        ctx.t("stats.companies", count=stats.companies),
        ctx.t("stats.interviews", count=stats.interviews),
    ]
    for number, stage in enumerate(stages, start=1):
        counts = stats.by_stage[stage]
        parts = [
            ctx.t("stats.part", outcome=_outcome_name(ctx, o), count=counts[o])
            for o in OUTCOME_COLOURS
            if counts[o]
        ]
        lines.append(
            ctx.t(
                "stats.stage_line",
                number=number,
                stage=_stage_name(ctx, stage),
                count=sum(counts.values()),
                parts=ctx.t("stats.separator").join(parts),
            )
        )
    lines.append("")
    lines.append(
        ctx.t(
            "stats.answers",
            answered=stats.answered,
            silent=stats.count(InterviewStatus.NO_RESPONSE),
            pending=stats.count("pending"),
        )
    )
    lines.append(ctx.t("stats.rate_title"))
    for stage in stages:
        counts = stats.by_stage[stage]
        passed, rejected = counts[InterviewStatus.PASSED], counts[InterviewStatus.REJECTED]
        decided = passed + rejected
        name = _stage_name(ctx, stage)
        if decided:
            rate = round(100 * passed / decided)
            lines.append(
                ctx.t("stats.rate_line", stage=name, rate=rate, passed=passed, decided=decided)
            )
        else:
            lines.append(ctx.t("stats.rate_none", stage=name))
    average = stats.average_days
    if average is None:
        lines.append(ctx.t("stats.average_none"))
    else:
        rounded = round(average, 1)
        days: int | float = int(rounded) if rounded.is_integer() else rounded
        lines.append(ctx.t("stats.average", days=days))
    return "\n".join(lines)


def chart(ctx: Context, stats: Stats, stages: list[str]) -> tuple[Image, bool]:
    """The chart, and whether it names its bars (else they carry the stages' numbers)."""
    bars = [
        Bar(
            _stage_name(ctx, stage),
            tuple(
                Segment(_outcome_name(ctx, o), colour, stats.by_stage[stage][o])
                for o, colour in OUTCOME_COLOURS.items()
            ),
        )
        for stage in stages
    ]
    title = ctx.t("stats.chart_title")
    png, named = stats_chart.render_png(bars, title)
    return Image(png, "image/png", "renraku-stats.png"), named


async def show_stats(ctx: Context) -> list[Reply]:
    stats = await gather(ctx)
    if stats.interviews == 0:
        return [ctx.reply(ctx.t("stats.empty"), main_menu(ctx))]
    stages = _stages(stats)
    image, named = chart(ctx, stats, stages)
    text = _text(ctx, stats, stages)
    if not named:
        colours = ctx.t("stats.separator").join(
            ctx.t(
                "stats.colour_key", colour=ctx.t(f"stats.colour.{o}"), outcome=_outcome_name(ctx, o)
            )
            for o in OUTCOME_COLOURS
        )
        text += "\n\n" + ctx.t("stats.chart_key", colours=colours)
    return [
        Reply(text=text, image=image),
        ctx.reply(ctx.t("stats.footer"), main_menu(ctx)),
    ]
