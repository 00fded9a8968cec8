"""Recording an interview: one question at a time, with skip, back, cancel and a summary card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain import calendar
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing import TextProblem, clean_text, parse_contact, parse_date, parse_period
from domain.protocol import Choice, Reply
from handlers import planning
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu
from storage.models import Interview, InterviewStatus

FLOW = "new"

STAGES = ("first", "second", "final", "casual", "other")
METHODS = ("phone", "email", "both", "unknown")
PROMISE_PRESETS = {
    "w1": PromisedPeriod(PeriodUnit.WEEKS, 1),
    "w2": PromisedPeriod(PeriodUnit.WEEKS, 2),
    "m1": PromisedPeriod(PeriodUnit.MONTHS, 1),
    "none": PromisedPeriod(PeriodUnit.UNSPECIFIED),
}
COMPANY_MAX, PERSON_MAX, MEMO_MAX, REFLECTION_MAX = 100, 50, 300, 1000
OLDEST_INTERVIEW_DAYS = 365
LONGEST_PROMISE_DAYS = 366

# The main line of questions; sub-steps (typed date, memo) hang off the one before them.
MAIN_STEPS = (
    "company",
    "date",
    "stage",
    "promised",
    "method",
    "interviewer",
    "contact",
    "asked",
    "good",
    "improve",
)
SUB_STEPS = {"date_input": "date", "promised_date": "promised", "asked_memo": "asked"}
EDITABLE = MAIN_STEPS


@dataclass
class Step:
    """What a step knows: how to ask, and how to take an answer (None = accepted, go on)."""

    ask: Callable[[Context, dict[str, Any]], Reply]
    take: Callable[[Context, dict[str, Any], Answer], Awaitable[list[Reply] | str | None]]
    optional: bool = False


# --- entry points ---------------------------------------------------------------------------


async def begin(ctx: Context) -> list[Reply]:
    data: dict[str, Any] = {"_trail": []}
    await ctx.go(FLOW, "company", data)
    return [ctx.reply(ctx.t("interview.intro")), _ask(ctx, "company", data)]


async def begin_next_round(ctx: Context, company: str, stage: str) -> list[Reply]:
    """Record the next round of a passed interview: the company is already known."""
    data: dict[str, Any] = {"_trail": [], "company": company, "stage": stage}
    await ctx.go(FLOW, "date", data)
    return [ctx.reply(ctx.t("interview.next_round", company=company)), _ask(ctx, "date", data)]


async def begin_edit(ctx: Context, interview: Interview) -> list[Reply]:
    data = _data_from(interview)
    await ctx.go(FLOW, "edit_pick", data)
    return [_summary(ctx, data), _ask(ctx, "edit_pick", data)]


async def answer(ctx: Context, reply: Answer) -> list[Reply]:
    step = ctx.step or "company"
    data = ctx.data
    if reply.value is None and reply.text is None:
        return [_ask(ctx, step, data)]
    if reply.value == CANCEL:
        await ctx.end_flow()
        return [ctx.reply(ctx.t("interview.cancelled"), main_menu(ctx))]
    if reply.value == BACK:
        return await _back(ctx, step, data)
    if step == "summary":
        return await _take_summary(ctx, data, reply)
    if step == "edit_pick":
        return await _take_edit_pick(ctx, data, reply)
    spec = STEPS[step]
    if reply.value == SKIP:
        if not spec.optional:
            return [ctx.reply(ctx.t("interview.cannot_skip")), _ask(ctx, step, data)]
        _clear_answer(step, data)
        return await _advance(ctx, step, data, [])
    outcome = await spec.take(ctx, data, reply)
    if isinstance(outcome, str):
        # The answer opened a sub-step (a typed date, a memo).
        _push_trail(data, step)
        await ctx.go(FLOW, outcome, data)
        return [_ask(ctx, outcome, data)]
    if outcome is not None and data.get("_rejected"):
        data.pop("_rejected")
        return [*outcome, _ask(ctx, step, data)]
    return await _advance(ctx, step, data, outcome or [])


# --- moving between steps -------------------------------------------------------------------


def _main_of(step: str) -> str:
    return SUB_STEPS.get(step, step)


def _push_trail(data: dict[str, Any], step: str) -> None:
    trail: list[str] = data.setdefault("_trail", [])
    trail.append(step)


async def _advance(
    ctx: Context, step: str, data: dict[str, Any], notes: list[Reply]
) -> list[Reply]:
    if data.get("_editing"):
        data.pop("_editing")
        data["_trail"] = []
        await ctx.go(FLOW, "summary", data)
        return [*notes, _summary(ctx, data)]
    main = _main_of(step)
    index = MAIN_STEPS.index(main)
    _push_trail(data, step)
    if index + 1 < len(MAIN_STEPS):
        nxt = MAIN_STEPS[index + 1]
        await ctx.go(FLOW, nxt, data)
        return [*notes, _ask(ctx, nxt, data)]
    await ctx.go(FLOW, "summary", data)
    return [*notes, _summary(ctx, data)]


async def _back(ctx: Context, step: str, data: dict[str, Any]) -> list[Reply]:
    trail: list[str] = data.get("_trail", [])
    if step == "edit_pick" or (data.get("_editing") and step != "summary"):
        data.pop("_editing", None)
        await ctx.go(FLOW, "summary", data)
        return [_summary(ctx, data)]
    if not trail:
        return [ctx.reply(ctx.t("interview.at_first_question")), _ask(ctx, step, data)]
    previous = trail.pop()
    data["_trail"] = trail
    await ctx.go(FLOW, previous, data)
    return [_ask(ctx, previous, data)]


def _controls(ctx: Context, step: str, data: dict[str, Any], *, optional: bool) -> list[Choice]:
    controls: list[Choice] = []
    if optional:
        controls.append(ctx.button("controls.skip", flow_action(FLOW, step, SKIP)))
    if data.get("_trail") or data.get("_editing") or step == "edit_pick":
        controls.append(ctx.button("controls.back", flow_action(FLOW, step, BACK)))
    controls.append(ctx.button("controls.cancel", flow_action(FLOW, step, CANCEL)))
    return controls


def _ask(ctx: Context, step: str, data: dict[str, Any]) -> Reply:
    if step == "summary":
        return _summary(ctx, data)
    if step == "edit_pick":
        fields = [
            ctx.button(f"interview.field.{name}", flow_action(FLOW, step, name))
            for name in EDITABLE
        ]
        return ctx.reply(
            ctx.t("interview.ask.edit_pick"),
            [*fields, *_controls(ctx, step, data, optional=False)],
        )
    spec = STEPS[step]
    reply = spec.ask(ctx, data)
    return ctx.reply(
        reply.text,
        [*reply.choices, *_controls(ctx, step, data, optional=spec.optional)],
        columns=reply.columns,
    )


def _problem(ctx: Context, data: dict[str, Any], key: str, **params: Any) -> list[Reply]:
    data["_rejected"] = True
    return [ctx.reply(ctx.t(key, **params))]


def _text_or_problem(
    ctx: Context, data: dict[str, Any], reply: Answer, limit: int, *, need_word: bool = False
) -> str | list[Reply]:
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    cleaned = clean_text(reply.text, limit, need_word=need_word)
    if isinstance(cleaned, TextProblem):
        return _problem(ctx, data, f"problems.{cleaned.value}", limit=limit)
    return cleaned


def _clear_answer(step: str, data: dict[str, Any]) -> None:
    for key in _ANSWER_KEYS.get(step, (step,)):
        data.pop(key, None)


_ANSWER_KEYS = {
    "contact": ("contact", "contact_kind"),
    "asked": ("asked", "asked_memo"),
    "asked_memo": ("asked_memo",),
}


# --- the questions --------------------------------------------------------------------------


def _ask_date(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(
        ctx.t("interview.ask.date"),
        [
            ctx.button("interview.choice.today", flow_action(FLOW, "date", "today")),
            ctx.button("interview.choice.yesterday", flow_action(FLOW, "date", "yesterday")),
            ctx.button("interview.choice.enter_date", flow_action(FLOW, "date", "input")),
        ],
        columns=3,
    )


def _ask_date_input(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(ctx.t("interview.ask.date_input", example=ctx.fmt_date(ctx.today)))


async def _take_date(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | str | None:
    if reply.value == "input":
        return "date_input"
    if reply.value in ("today", "yesterday"):
        chosen = ctx.today - timedelta(days=0 if reply.value == "today" else 1)
        return _accept_interview_date(ctx, data, chosen)
    return await _take_date_input(ctx, data, reply)


async def _take_date_input(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | None:
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    parsed = parse_date(reply.text, ctx.today, prefer="past")
    if parsed is None:
        return _problem(ctx, data, "interview.bad_date")
    return _accept_interview_date(ctx, data, parsed)


def _accept_interview_date(ctx: Context, data: dict[str, Any], chosen: date) -> list[Reply] | None:
    if chosen > ctx.today:
        return _problem(ctx, data, "interview.date_in_future")
    if (ctx.today - chosen).days > OLDEST_INTERVIEW_DAYS:
        return _problem(ctx, data, "interview.date_too_old")
    data["date"] = chosen.isoformat()
    return [ctx.reply(ctx.t("interview.date_echo", date=ctx.fmt_date(chosen)))]


def _ask_stage(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(
        ctx.t("interview.ask.stage"),
        [ctx.button(f"interview.stage.{s}", flow_action(FLOW, "stage", s)) for s in STAGES],
        columns=3,
    )


async def _take_stage(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | None:
    value = reply.value or _label_match(ctx, reply.text, "interview.stage", STAGES)
    if value not in STAGES:
        return _problem(ctx, data, "interview.use_buttons")
    data["stage"] = value
    return None


def _ask_promised(ctx: Context, data: dict[str, Any]) -> Reply:
    presets = [
        ctx.button(f"interview.promise.{k}", flow_action(FLOW, "promised", k))
        for k in ("w1", "w2", "m1")
    ]
    return ctx.reply(
        ctx.t("interview.ask.promised"),
        [
            *presets,
            ctx.button("interview.promise.date", flow_action(FLOW, "promised", "date")),
            ctx.button("interview.promise.none", flow_action(FLOW, "promised", "none")),
        ],
        columns=3,
    )


def _ask_promised_date(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(ctx.t("interview.ask.promised_date"))


async def _take_promised(
    ctx: Context, data: dict[str, Any], reply: Answer
) -> list[Reply] | str | None:
    if reply.value == "date":
        return "promised_date"
    if reply.value in PROMISE_PRESETS:
        return _accept_period(ctx, data, PROMISE_PRESETS[reply.value])
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    period = parse_period(reply.text, ctx.today)
    if period is None:
        return _problem(ctx, data, "interview.bad_period")
    return _accept_period(ctx, data, period)


async def _take_promised_date(
    ctx: Context, data: dict[str, Any], reply: Answer
) -> list[Reply] | None:
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    parsed = parse_date(reply.text, ctx.today, prefer="future")
    if parsed is None:
        return _problem(ctx, data, "interview.bad_date")
    return _accept_period(ctx, data, PromisedPeriod(PeriodUnit.DATE, until=parsed))


def _accept_period(
    ctx: Context, data: dict[str, Any], period: PromisedPeriod
) -> list[Reply] | None:
    interview_date = date.fromisoformat(data["date"])
    deadline = calendar.promised_day(interview_date, period)
    if deadline <= interview_date:
        return _problem(ctx, data, "interview.promise_before_interview")
    if (deadline - interview_date).days > LONGEST_PROMISE_DAYS:
        return _problem(ctx, data, "interview.promise_too_far")
    data["promised"] = period.to_storage()
    due = calendar.promised_day(interview_date, period)
    key = (
        "interview.promise_echo_none"
        if period.unit is PeriodUnit.UNSPECIFIED
        else "interview.promise_echo"
    )
    return [ctx.reply(ctx.t(key, promised=describe_period(ctx, period), due=ctx.fmt_date(due)))]


def _ask_method(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(
        ctx.t("interview.ask.method"),
        [ctx.button(f"interview.method.{m}", flow_action(FLOW, "method", m)) for m in METHODS],
    )


async def _take_method(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | None:
    value = reply.value or _label_match(ctx, reply.text, "interview.method", METHODS)
    if value not in METHODS:
        return _problem(ctx, data, "interview.use_buttons")
    data["method"] = value
    return [ctx.reply(ctx.t(f"interview.method_tip.{value}"))]


def _ask_contact(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(ctx.t("interview.ask.contact"))


async def _take_contact(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | None:
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    contact = parse_contact(reply.text[:300])
    if contact is None:
        return _problem(ctx, data, "interview.bad_contact")
    data["contact"], data["contact_kind"] = contact.value, contact.kind
    return None


def _ask_asked(ctx: Context, data: dict[str, Any]) -> Reply:
    return ctx.reply(
        ctx.t("interview.ask.asked"),
        [
            ctx.button("interview.choice.yes", flow_action(FLOW, "asked", "yes")),
            ctx.button("interview.choice.no", flow_action(FLOW, "asked", "no")),
        ],
    )


async def _take_asked(
    ctx: Context, data: dict[str, Any], reply: Answer
) -> list[Reply] | str | None:
    value = reply.value or _label_match(ctx, reply.text, "interview.choice", ("yes", "no"))
    if value == "yes":
        data["asked"] = True
        return "asked_memo"
    if value == "no":
        data["asked"] = False
        data.pop("asked_memo", None)
        return [ctx.reply(ctx.t("interview.asked_no_tip"))]
    return _problem(ctx, data, "interview.use_buttons")


def _text_step(field: str, limit: int, *, need_word: bool = False, optional: bool = False) -> Step:
    """A question answered in free text, stored under ``field`` once it passes the checks."""

    def ask(ctx: Context, data: dict[str, Any]) -> Reply:
        return ctx.reply(ctx.t(f"interview.ask.{field}"))

    async def take(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply] | None:
        cleaned = _text_or_problem(ctx, data, reply, limit, need_word=need_word)
        if isinstance(cleaned, list):
            return cleaned
        data[field] = cleaned
        return None

    return Step(ask, take, optional=optional)


STEPS: dict[str, Step] = {
    "company": _text_step("company", COMPANY_MAX, need_word=True),
    "date": Step(_ask_date, _take_date),
    "date_input": Step(_ask_date_input, _take_date_input),
    "stage": Step(_ask_stage, _take_stage),
    "promised": Step(_ask_promised, _take_promised),
    "promised_date": Step(_ask_promised_date, _take_promised_date),
    "method": Step(_ask_method, _take_method),
    "interviewer": _text_step("interviewer", PERSON_MAX, need_word=True, optional=True),
    "contact": Step(_ask_contact, _take_contact, optional=True),
    "asked": Step(_ask_asked, _take_asked, optional=True),
    "asked_memo": _text_step("asked_memo", MEMO_MAX, optional=True),
    "good": _text_step("good", REFLECTION_MAX, optional=True),
    "improve": _text_step("improve", REFLECTION_MAX, optional=True),
}


def _label_match(
    ctx: Context, text: str | None, prefix: str, values: tuple[str, ...]
) -> str | None:
    """A typed answer that equals a button's label counts as pressing it."""
    if text is None:
        return None
    folded = text.strip().casefold()
    for value in values:
        if ctx.t(f"{prefix}.{value}").casefold() == folded:
            return value
    return None


# --- summary and saving ---------------------------------------------------------------------


def describe_period(ctx: Context, period: PromisedPeriod, *, catalog_table: str = "period") -> str:
    """Phrase a promised period: ``period.*`` for cards, ``template_period.*`` in templates."""
    if period.unit is PeriodUnit.DATE and period.until is not None:
        return ctx.t(f"{catalog_table}.date", date=ctx.fmt_date(period.until))
    return ctx.t(f"{catalog_table}.{period.unit.name.lower()}", n=period.amount)


def _summary(ctx: Context, data: dict[str, Any]) -> Reply:
    none = ctx.t("interview.summary.none")
    interview_date = date.fromisoformat(data["date"])
    period = PromisedPeriod.from_storage(data["promised"])
    asked = data.get("asked")
    asked_text = (
        none if asked is None else ctx.t("interview.choice.yes" if asked else "interview.choice.no")
    )
    if asked and data.get("asked_memo"):
        asked_text = f"{asked_text} ({data['asked_memo']})"
    text = ctx.t(
        "interview.summary.card",
        company=data["company"],
        date=ctx.fmt_date(interview_date),
        stage=ctx.t(f"interview.stage.{data['stage']}"),
        promised=describe_period(ctx, period),
        due=ctx.fmt_date(calendar.promised_day(interview_date, period)),
        method=ctx.t(f"interview.method.{data['method']}"),
        interviewer=data.get("interviewer") or none,
        contact=data.get("contact") or none,
        asked=asked_text,
        good=data.get("good") or none,
        improve=data.get("improve") or none,
    )
    return ctx.reply(
        text,
        [
            ctx.button("interview.summary.save", flow_action(FLOW, "summary", "save")),
            ctx.button("interview.summary.edit", flow_action(FLOW, "summary", "edit")),
            ctx.button("controls.cancel", flow_action(FLOW, "summary", CANCEL)),
        ],
        columns=3,
    )


async def _take_summary(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply]:
    value = reply.value or _label_match(ctx, reply.text, "interview.summary", ("save", "edit"))
    if value == "edit":
        await ctx.go(FLOW, "edit_pick", data)
        return [_ask(ctx, "edit_pick", data)]
    if value == "save":
        return await _save(ctx, data)
    return [ctx.reply(ctx.t("interview.use_buttons")), _summary(ctx, data)]


async def _take_edit_pick(ctx: Context, data: dict[str, Any], reply: Answer) -> list[Reply]:
    value = reply.value or _label_match(ctx, reply.text, "interview.field", EDITABLE)
    if value not in EDITABLE:
        return [ctx.reply(ctx.t("interview.use_buttons")), _ask(ctx, "edit_pick", data)]
    data["_editing"] = True
    data["_trail"] = []
    await ctx.go(FLOW, value, data)
    return [_ask(ctx, value, data)]


def _data_from(interview: Interview) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_trail": [],
        "_iid": interview.id,
        "company": interview.company,
        "date": interview.interview_date.isoformat(),
        "stage": interview.stage,
        "promised": interview.promised,
        "method": interview.contact_method,
    }
    optional = {
        "interviewer": interview.interviewer_name,
        "contact": interview.interviewer_contact,
        "asked": interview.asked_what_if_silent,
        "asked_memo": interview.asked_memo,
        "good": interview.reflection_good,
        "improve": interview.reflection_improve,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def _apply(interview: Interview, data: dict[str, Any]) -> None:
    interview.company = data["company"]
    interview.interview_date = date.fromisoformat(data["date"])
    interview.stage = data["stage"]
    interview.promised = data["promised"]
    interview.contact_method = data["method"]
    interview.interviewer_name = data.get("interviewer")
    interview.interviewer_contact = data.get("contact")
    interview.asked_what_if_silent = data.get("asked")
    interview.asked_memo = data.get("asked_memo")
    interview.reflection_good = data.get("good")
    interview.reflection_improve = data.get("improve")


async def _save(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    interview_id = data.get("_iid")
    if interview_id is not None:
        existing = await ctx.uow.interviews.owned(ctx.user.id, int(interview_id))
        if existing is None:
            await ctx.end_flow()
            return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
        schedule_changed = (
            existing.interview_date.isoformat() != data["date"]
            or existing.promised != data["promised"]
        )
        _apply(existing, data)
        await ctx.end_flow()
        replies = [ctx.reply(ctx.t("interview.updated", company=existing.company))]
        if schedule_changed and InterviewStatus(existing.status).is_open:
            checkin = await planning.replan(ctx, existing)
            replies.append(ctx.reply(ctx.t("interview.checkin_at", when=ctx.fmt_datetime(checkin))))
        replies[-1] = ctx.reply(replies[-1].text, main_menu(ctx))
        return replies
    interview = Interview(status=InterviewStatus.WAITING.value, followups_sent=0, muted=False)
    interview.user_id = ctx.user.id
    _apply(interview, data)
    ctx.uow.interviews.add(interview)
    await ctx.uow.interviews.flush()
    ctx.uow.history.record(interview.id, None, InterviewStatus.WAITING.value)
    checkin = await planning.plan(ctx, interview)
    await ctx.end_flow()
    tips = planning.pick_tips(ctx, "pools.waiting", 2)
    return [
        ctx.reply(
            ctx.t(
                "interview.saved",
                company=interview.company,
                when=ctx.fmt_datetime(checkin),
            )
        ),
        ctx.reply(ctx.t("interview.first_tips", tips=ctx.bullets(tips)), main_menu(ctx)),
    ]
