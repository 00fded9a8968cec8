"""Recording an interview: one question at a time, with skip, back, cancel and a summary card.

The questions themselves are rows of handlers/registration.py; this module only knows how to
ask and take each kind of answer, and reads everything else from the table it is given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import calendar
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing import (
    TextProblem,
    clean_text,
    fold_word,
    parse_contact,
    parse_date,
    parse_moment,
    parse_period,
)
from domain.protocol import Choice, Reply
from handlers import calendar_files, planning
from handlers.context import BACK, CANCEL, SKIP, Answer, Context, flow_action
from handlers.menu import main_menu
from handlers.registration import (
    CARRIED_OVER,
    REGISTRATION,
    ROUND,
    SCHEDULED_ROUND,
    AnswerKind,
    Codec,
    FollowUp,
    Question,
    Registration,
    contact_kind_key,
    scheduled_round,
)
from handlers.typed import Option, Unmatched, typed_choice
from storage.models import Interview, InterviewStatus

FLOW = "new"
SUMMARY, EDIT_PICK = "summary", "edit_pick"
# Asked when /new names a company whose application is still going: is this its next round?
SAME_APPLICATION = "same_app"
YES_NO_OPTIONS = (
    Option("yes", "interview.choice.yes", "interview.words.yes_no.yes"),
    Option("no", "interview.choice.no", "interview.words.yes_no.no"),
)
# An application has ended once a round was turned down or declined, or the final was passed.
ENDED = frozenset({InterviewStatus.REJECTED.value, InterviewStatus.DECLINED.value})
OFFER_STAGE = "final"
# Not before a scheduled round has begun, nor further ahead than this.
FURTHEST_ROUND_DAYS = 365
# What a scheduled round is saved with until the interview has taken place and is recorded.
NOT_YET_PROMISED = PromisedPeriod(PeriodUnit.UNSPECIFIED).to_storage()
NOT_YET_KNOWN_METHOD = "unknown"

PROMISE_PRESETS = {
    "w1": PromisedPeriod(PeriodUnit.WEEKS, 1),
    "w2": PromisedPeriod(PeriodUnit.WEEKS, 2),
    "m1": PromisedPeriod(PeriodUnit.MONTHS, 1),
    "none": PromisedPeriod(PeriodUnit.UNSPECIFIED),
}
SUMMARY_OPTIONS = (
    Option("save", "interview.summary.save", "interview.words.summary.save"),
    Option("edit", "interview.summary.edit", "interview.words.summary.edit"),
)
# Names offered as buttons for a question (``{step: [name, ...]}``), and their buttons' values.
CANDIDATES, CANDIDATE_PREFIX = "_candidates", "pick"
OLDEST_INTERVIEW_DAYS = 365
LONGEST_PROMISE_DAYS = 366

# A reply to an answer: notes to send and go on (None: nothing to say), or a follow-up to open.
Outcome = list[Reply] | FollowUp | None


# --- entry points ---------------------------------------------------------------------------


async def begin(ctx: Context, table: Registration = REGISTRATION) -> list[Reply]:
    data: dict[str, Any] = {"_trail": []}
    first = _first(table, data)
    await ctx.go(FLOW, first.key, data)
    return [ctx.reply(ctx.t("interview.intro")), _ask(ctx, table, first.key, data)]


async def begin_next_round(
    ctx: Context,
    company: str,
    stage: str,
    table: Registration = REGISTRATION,
    *,
    previous: Interview | None = None,
) -> list[Reply]:
    """Record the next round of a passed interview, before it happens: its time and place.

    Who the user talks to and how they applied come from the previous round, prefilled and
    shown on the card for a check (a new round may have a new interviewer). The stage is a
    guess from the last one, so it is still asked.
    """
    data: dict[str, Any] = {"_trail": [], ROUND: SCHEDULED_ROUND, "company": company}
    prefilled = ["company"]
    if previous is not None:
        carried = _carried(previous, table)
        data.update(carried)
        prefilled = list(dict.fromkeys([*prefilled, *(k for k in carried if k in CARRIED_OVER)]))
        if previous.application_id is None:
            # Recorded before applications existed: it becomes the first round of one.
            created = await ctx.uow.applications.create(ctx.user.id, previous.company)
            previous.application_id = created.id
        data["_app"] = previous.application_id
    data["stage"] = stage
    data["_prefilled"] = prefilled
    first = _first(table, data)
    await ctx.go(FLOW, first.key, data)
    return [
        ctx.reply(ctx.t("interview.next_round", company=company)),
        _ask(ctx, table, first.key, data),
    ]


async def begin_prefilled(
    ctx: Context,
    data: dict[str, Any],
    intro: list[str],
    table: Registration = REGISTRATION,
) -> list[Reply]:
    """A record started from what the user already said (one free sentence): the required
    answers still missing are asked in the table's order, the optional ones wait on the card
    to be added by editing it, and the card comes with save, edit and cancel as usual.

    ``data`` holds answers in the flow's own form; ``_candidates`` may offer names to tap
    for a question that was said more than one way (two companies).
    """
    said = [q.key for q in table.questions if data.get(q.key) is not None]
    data = {**data, "_trail": [], "_said": said, "_required_only": True}
    if data.get("company") and await _offer_same_application(ctx, data):
        # The sentence names a company still in progress: offer it as that one's next round.
        return [ctx.reply("\n".join(intro)), _ask(ctx, table, SAME_APPLICATION, data)]
    first = table.next_after(None, data)
    if first is None:
        await ctx.go(FLOW, SUMMARY, data)
        return [ctx.reply("\n".join(intro)), _summary(ctx, table, data)]
    await ctx.go(FLOW, first.key, data)
    return [ctx.reply("\n".join(intro)), _ask(ctx, table, first.key, data)]


def _candidate_buttons(step: str, data: dict[str, Any]) -> list[Choice]:
    """Names read from the user's own words, offered as taps (their text is the label)."""
    names: list[str] = data.get(CANDIDATES, {}).get(step, [])
    return [
        Choice(label=name, action=flow_action(FLOW, step, f"{CANDIDATE_PREFIX}{i}"))
        for i, name in enumerate(names)
    ]


def _candidate(data: dict[str, Any], step: str, value: str | None) -> str | None:
    """The name a candidate button stands for, or None for any other value."""
    if value is None or not value.startswith(CANDIDATE_PREFIX):
        return None
    names: list[str] = data.get(CANDIDATES, {}).get(step, [])
    index = value.removeprefix(CANDIDATE_PREFIX)
    return names[int(index)] if index.isdecimal() and int(index) < len(names) else None


async def begin_held(
    ctx: Context, interview: Interview, table: Registration = REGISTRATION
) -> list[Reply]:
    """A scheduled round has taken place: ask only what could not be known before it."""
    data = _data_from(interview, table)
    data.pop(ROUND, None)
    if interview.scheduled_at is not None:
        data["date"] = calendar.local_today(interview.scheduled_at, ctx.user.timezone).isoformat()
    asked_after = {q.key for q in table.questions if q.applies(data) and not _known_before(q)}
    # Its day is the scheduled time's.
    asked_after.discard("date")
    data["_prefilled"] = [q.key for q in table.questions if q.key not in asked_after]
    first = _first(table, data)
    await ctx.go(FLOW, first.key, data)
    return [
        ctx.reply(ctx.t("interview.held_intro", company=interview.company)),
        _ask(ctx, table, first.key, data),
    ]


def _known_before(q: Question) -> bool:
    """Whether a question is answered when a round is scheduled (so not asked again after)."""
    return q.applies({ROUND: SCHEDULED_ROUND, "applied_via": "agent"})


def _carried(interview: Interview, table: Registration) -> dict[str, Any]:
    """The answers a round hands to the next: who the user talks to and how they applied."""
    known = _data_from(interview, table)
    carried = {key: known[key] for key in CARRIED_OVER if known.get(key) is not None}
    for key in ("contact", "agent_contact"):
        value = carried.get(key)
        if value is not None:
            contact = parse_contact(str(value))
            if contact is not None:
                carried[contact_kind_key(key)] = contact.kind
    return carried


async def begin_edit(
    ctx: Context, interview: Interview, table: Registration = REGISTRATION
) -> list[Reply]:
    data = _data_from(interview, table)
    await ctx.go(FLOW, EDIT_PICK, data)
    return [_summary(ctx, table, data), _ask(ctx, table, EDIT_PICK, data)]


async def answer(ctx: Context, reply: Answer, table: Registration = REGISTRATION) -> list[Reply]:
    data = ctx.data
    step = ctx.step or _first(table, data).key
    if reply.value is None and reply.text is None:
        return [_ask(ctx, table, step, data)]
    if reply.value == CANCEL:
        await ctx.end_flow()
        return [ctx.reply(ctx.t("interview.cancelled"), main_menu(ctx))]
    if reply.value == BACK:
        return await _back(ctx, table, step, data)
    if step == SUMMARY:
        return await _take_summary(ctx, table, data, reply)
    if step == EDIT_PICK:
        return await _take_edit_pick(ctx, table, data, reply)
    if step == SAME_APPLICATION:
        return await _take_same_application(ctx, table, data, reply)
    question, follow_up = table.question(step), table.follow_up(step)
    asked_before = _asked(table, data)
    if reply.value == SKIP:
        if not (follow_up.optional if follow_up is not None else question.optional):
            return [ctx.reply(ctx.t("interview.cannot_skip")), _ask(ctx, table, step, data)]
        for key in (follow_up.key,) if follow_up is not None else question.answer_keys():
            data.pop(key, None)
        return await _advance(ctx, table, step, data, [], asked_before)
    outcome = await (
        _take_follow_up(ctx, question, follow_up, data, reply)
        if follow_up is not None
        else _take(ctx, question, data, reply)
    )
    if isinstance(outcome, FollowUp):
        _push_trail(data, step)
        await ctx.go(FLOW, outcome.key, data)
        return [_ask(ctx, table, outcome.key, data)]
    if outcome is not None and data.get("_rejected"):
        data.pop("_rejected")
        return [*outcome, _ask(ctx, table, step, data)]
    if step == "company" and await _offer_same_application(ctx, data):
        return [_ask(ctx, table, SAME_APPLICATION, data)]
    return await _advance(ctx, table, step, data, outcome or [], asked_before)


# --- the same company again -----------------------------------------------------------------


def _application_ended(rounds: list[Interview]) -> bool:
    latest = rounds[-1]
    if latest.status in ENDED:
        return True
    return latest.status == InterviewStatus.PASSED.value and latest.stage == OFFER_STAGE


async def _offer_same_application(ctx: Context, data: dict[str, Any]) -> bool:
    """A new record naming a company still in progress: offer to add it as its next round."""
    if data.get("_editing") or "_iid" in data or "_app" in data or data.get("_app_declined"):
        return False
    company = fold_word(str(data.get("company", "")))
    for application_id, name in reversed(await ctx.uow.applications.companies(ctx.user.id)):
        if fold_word(name) != company:
            continue
        rounds = list(await ctx.uow.applications.rounds(ctx.user.id, application_id))
        if rounds and not _application_ended(rounds):
            data["_app_offer"] = application_id
            await ctx.go(FLOW, SAME_APPLICATION, data)
            return True
    return False


async def _take_same_application(
    ctx: Context, table: Registration, data: dict[str, Any], reply: Answer
) -> list[Reply]:
    value = reply.value
    if value is None and reply.text is not None:
        picked = typed_choice(ctx, reply.text, YES_NO_OPTIONS)
        if isinstance(picked, Unmatched):
            return [_not_a_choice(ctx, picked), _ask(ctx, table, SAME_APPLICATION, data)]
        value = picked
    offered = data.pop("_app_offer", None)
    if value not in ("yes", "no") or offered is None:
        if offered is not None:
            data["_app_offer"] = offered
        return [ctx.reply(ctx.t("interview.use_buttons")), _ask(ctx, table, SAME_APPLICATION, data)]
    if value == "no":
        data["_app_declined"] = True
        return await _advance(ctx, table, "company", data, [])
    rounds = list(await ctx.uow.applications.rounds(ctx.user.id, int(offered)))
    if not rounds:
        return await _advance(ctx, table, "company", data, [])
    data["_app"] = int(offered)
    carried = _carried(rounds[-1], table)
    carried.pop("company", None)
    data.update(carried)
    data["_prefilled"] = list(
        dict.fromkeys([*data.get("_prefilled", []), *(k for k in carried if k in CARRIED_OVER)])
    )
    note = ctx.reply(ctx.t("interview.same_app_added", company=data["company"]))
    return await _advance(ctx, table, "company", data, [note])


# --- moving between steps -------------------------------------------------------------------


def _first(table: Registration, data: dict[str, Any]) -> Question:
    first = table.next_after(None, data)
    if first is None:
        raise ValueError("a registration needs at least one question to ask")
    return first


def _push_trail(data: dict[str, Any], step: str) -> None:
    trail: list[str] = data.setdefault("_trail", [])
    trail.append(step)


def _asked(table: Registration, data: dict[str, Any]) -> set[str]:
    return {q.key for q in table.questions if q.applies(data)}


def _drop_unasked(table: Registration, data: dict[str, Any]) -> None:
    """Forget the answers to questions that no longer apply (the agent, once applied directly),
    so the card, the saved row and /export never carry them."""
    for q in table.questions:
        if not q.applies(data):
            for key in q.answer_keys():
                data.pop(key, None)


async def _advance(
    ctx: Context,
    table: Registration,
    step: str,
    data: dict[str, Any],
    notes: list[Reply],
    asked_before: set[str] | None = None,
) -> list[Reply]:
    _drop_unasked(table, data)
    if data.get("_editing"):
        # An edit that opens questions (applied through an agent after all) asks them next.
        asked_now = _asked(table, data)
        queue = [k for k in data.get("_edit_queue", []) if k in asked_now]
        if asked_before is not None:
            order = [q.key for q in table.questions]
            queue += sorted(asked_now - asked_before - set(queue), key=order.index)
        if queue:
            following = queue.pop(0)
            data["_edit_queue"] = queue
            await ctx.go(FLOW, following, data)
            return [*notes, _ask(ctx, table, following, data)]
        data.pop("_editing")
        data.pop("_edit_queue", None)
        data["_trail"] = []
        await ctx.go(FLOW, SUMMARY, data)
        return [*notes, _summary(ctx, table, data)]
    _push_trail(data, step)
    following = table.next_after(step, data)
    if following is not None:
        await ctx.go(FLOW, following.key, data)
        return [*notes, _ask(ctx, table, following.key, data)]
    await ctx.go(FLOW, SUMMARY, data)
    return [*notes, _summary(ctx, table, data)]


async def _back(ctx: Context, table: Registration, step: str, data: dict[str, Any]) -> list[Reply]:
    trail: list[str] = data.get("_trail", [])
    if step == SAME_APPLICATION:
        data.pop("_app_offer", None)
        await ctx.go(FLOW, "company", data)
        return [_ask(ctx, table, "company", data)]
    if step == EDIT_PICK or (data.get("_editing") and step != SUMMARY):
        data.pop("_editing", None)
        data.pop("_edit_queue", None)
        await ctx.go(FLOW, SUMMARY, data)
        return [_summary(ctx, table, data)]
    if not trail:
        return [
            ctx.reply(ctx.t("interview.at_first_question")),
            _ask(ctx, table, step, data),
        ]
    previous = trail.pop()
    data["_trail"] = trail
    await ctx.go(FLOW, previous, data)
    return [_ask(ctx, table, previous, data)]


def _controls(ctx: Context, step: str, data: dict[str, Any], *, optional: bool) -> list[Choice]:
    controls: list[Choice] = []
    if optional:
        controls.append(ctx.button("controls.skip", flow_action(FLOW, step, SKIP)))
    if data.get("_trail") or data.get("_editing") or step == EDIT_PICK:
        controls.append(ctx.button("controls.back", flow_action(FLOW, step, BACK)))
    controls.append(ctx.button("controls.cancel", flow_action(FLOW, step, CANCEL)))
    return controls


def _ask(ctx: Context, table: Registration, step: str, data: dict[str, Any]) -> Reply:
    if step == SUMMARY:
        return _summary(ctx, table, data)
    if step == SAME_APPLICATION:
        return ctx.reply(
            ctx.t("interview.same_app", company=data.get("company", "")),
            [
                ctx.button("interview.choice.yes", flow_action(FLOW, step, "yes")),
                ctx.button("interview.choice.no", flow_action(FLOW, step, "no")),
                ctx.button("controls.back", flow_action(FLOW, step, BACK)),
                ctx.button("controls.cancel", flow_action(FLOW, step, CANCEL)),
            ],
        )
    if step == EDIT_PICK:
        fields = [
            ctx.button(q.label_key, flow_action(FLOW, step, q.key)) for q in table.editable(data)
        ]
        return ctx.reply(
            ctx.t("interview.ask.edit_pick"),
            [*fields, *_controls(ctx, step, data, optional=False)],
        )
    question, follow_up = table.question(step), table.follow_up(step)
    if follow_up is not None:
        asked = ctx.reply(ctx.t(follow_up.question_key, example=ctx.fmt_date(ctx.today)))
        optional = follow_up.optional
    else:
        asked = _question(ctx, question)
        optional = question.optional
    return ctx.reply(
        asked.text,
        [
            *_candidate_buttons(step, data),
            *asked.choices,
            *_controls(ctx, step, data, optional=optional),
        ],
        columns=asked.columns,
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


# --- asking and taking each kind of answer --------------------------------------------------


def _question(ctx: Context, q: Question) -> Reply:
    choices = [ctx.button(key, flow_action(FLOW, q.key, value)) for key, value in q.buttons()]
    return ctx.reply(ctx.t(q.question_key), choices, columns=q.button_columns)


def _options(q: Question) -> list[Option]:
    """The row's buttons as typing may name them: by label, or by the row's declared words."""
    return [
        Option(value, label, f"{q.words}.{value}" if q.words else "")
        for label, value in q.buttons()
    ]


def _not_a_choice(ctx: Context, why: Unmatched) -> Reply:
    """The kind line before the choices come again."""
    if why is Unmatched.AMBIGUOUS:
        return ctx.reply(ctx.t("interview.choice_ambiguous"))
    return ctx.reply(ctx.t("interview.choice_unknown"))


async def _take(ctx: Context, q: Question, data: dict[str, Any], reply: Answer) -> Outcome:
    if reply.value is None and reply.text is not None and q.buttons():
        # Typing a button's label or a declared word is tapping it; other text for a date or
        # a period is parsed below, for a choice it is not an answer.
        picked = typed_choice(ctx, reply.text, _options(q))
        if isinstance(picked, str):
            reply = Answer(value=picked)
        elif q.kind in (AnswerKind.CHOICE, AnswerKind.YES_NO):
            data["_rejected"] = True
            return [_not_a_choice(ctx, picked)]
    if q.kind is AnswerKind.TEXT:
        picked_name = _candidate(data, q.key, reply.value)
        if picked_name is not None:
            reply = Answer(text=picked_name)
        cleaned = _text_or_problem(ctx, data, reply, q.limit, need_word=q.need_word)
        if isinstance(cleaned, list):
            return cleaned
        data[q.key] = cleaned
        data.get(CANDIDATES, {}).pop(q.key, None)
        return None
    if q.kind is AnswerKind.CHOICE:
        value = reply.value
        if value not in q.choices:
            return _problem(ctx, data, "interview.use_buttons")
        data[q.key] = value
        return [ctx.reply(ctx.t(f"{q.echo}.{value}"))] if q.echo is not None else None
    if q.kind is AnswerKind.DATE:
        if q.follow_up is not None and reply.value == q.follow_up.opened_by:
            return q.follow_up
        if reply.value in ("today", "yesterday"):
            chosen = ctx.today - timedelta(days=0 if reply.value == "today" else 1)
            return _accept_interview_date(ctx, q, data, chosen)
        return _take_typed_date(ctx, q, data, reply)
    if q.kind is AnswerKind.PERIOD:
        if q.follow_up is not None and reply.value == q.follow_up.opened_by:
            return q.follow_up
        if reply.value in PROMISE_PRESETS:
            return _accept_period(ctx, q, data, PROMISE_PRESETS[reply.value])
        if reply.text is None:
            return _problem(ctx, data, "interview.use_buttons")
        period = parse_period(reply.text, ctx.today, ctx.user.timezone)
        if period is None:
            return _problem(ctx, data, "interview.bad_period")
        return _accept_period(ctx, q, data, period)
    if q.kind is AnswerKind.MOMENT:
        return _take_moment(ctx, q, data, reply)
    if q.kind is AnswerKind.CONTACT:
        if reply.text is None:
            return _problem(ctx, data, "interview.use_buttons")
        contact = parse_contact(reply.text[: q.limit])
        if contact is None:
            return _problem(ctx, data, "interview.bad_contact")
        data[q.key], data[contact_kind_key(q.key)] = contact.value, contact.kind
        return None
    # YES_NO
    value = reply.value
    if value == "yes":
        data[q.key] = True
        return q.follow_up
    if value == "no":
        data[q.key] = False
        if q.follow_up is not None:
            data.pop(q.follow_up.key, None)
        return [ctx.reply(ctx.t(q.said_after_no))] if q.said_after_no is not None else []
    return _problem(ctx, data, "interview.use_buttons")


async def _take_follow_up(
    ctx: Context, parent: Question, follow_up: FollowUp, data: dict[str, Any], reply: Answer
) -> Outcome:
    if follow_up.kind is AnswerKind.DATE and parent.kind is AnswerKind.PERIOD:
        if reply.text is None:
            return _problem(ctx, data, "interview.use_buttons")
        parsed = parse_date(reply.text, ctx.today, prefer="future")
        if parsed is None:
            # A date with a time of day (12/10 15時) is a promise of that moment.
            timed = parse_period(reply.text, ctx.today, ctx.user.timezone)
            if timed is not None and timed.unit is PeriodUnit.AT:
                return _accept_period(ctx, parent, data, timed)
            return _problem(ctx, data, "interview.bad_date")
        return _accept_period(ctx, parent, data, PromisedPeriod(PeriodUnit.DATE, until=parsed))
    if follow_up.kind is AnswerKind.DATE:
        return _take_typed_date(ctx, parent, data, reply)
    cleaned = _text_or_problem(ctx, data, reply, follow_up.limit)
    if isinstance(cleaned, list):
        return cleaned
    data[follow_up.key] = cleaned
    return None


def _take_typed_date(ctx: Context, q: Question, data: dict[str, Any], reply: Answer) -> Outcome:
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    parsed = parse_date(reply.text, ctx.today, prefer="past")
    if parsed is None:
        return _problem(ctx, data, "interview.bad_date")
    return _accept_interview_date(ctx, q, data, parsed)


def _take_moment(ctx: Context, q: Question, data: dict[str, Any], reply: Answer) -> Outcome:
    """A round's day and time: a scheduled one only ahead of now, within a year."""
    if reply.text is None:
        return _problem(ctx, data, "interview.use_buttons")
    local = parse_moment(reply.text, ctx.today)
    if local is None:
        return _problem(ctx, data, "interview.bad_moment")
    moment = local.replace(tzinfo=ZoneInfo(ctx.user.timezone)).astimezone(UTC)
    if scheduled_round(data) and moment <= ctx.now:
        return _problem(ctx, data, "interview.moment_past", when=ctx.fmt_datetime(moment))
    if (moment - ctx.now).days > FURTHEST_ROUND_DAYS:
        return _problem(ctx, data, "interview.date_too_old")
    data[q.key] = moment.isoformat()
    return [ctx.reply(ctx.t("interview.moment_echo", when=ctx.fmt_datetime(moment)))]


def _accept_interview_date(
    ctx: Context, q: Question, data: dict[str, Any], chosen: date
) -> list[Reply] | None:
    if chosen > ctx.today:
        return _problem(ctx, data, "interview.date_in_future")
    if (ctx.today - chosen).days > OLDEST_INTERVIEW_DAYS:
        return _problem(ctx, data, "interview.date_too_old")
    data[q.key] = chosen.isoformat()
    return [ctx.reply(ctx.t("interview.date_echo", date=ctx.fmt_date(chosen)))]


def _accept_period(
    ctx: Context, q: Question, data: dict[str, Any], period: PromisedPeriod
) -> list[Reply] | None:
    interview_date = date.fromisoformat(data[q.counted_from])
    deadline = calendar.promised_day(interview_date, period)
    # A moment may be later on the interview day itself (今日の17時までに).
    timed = period.unit is PeriodUnit.AT
    if deadline < interview_date or (deadline == interview_date and not timed):
        return _problem(ctx, data, "interview.promise_before_interview")
    if (deadline - interview_date).days > LONGEST_PROMISE_DAYS:
        return _problem(ctx, data, "interview.promise_too_far")
    data[q.key] = period.to_storage()
    due = calendar.promised_day(interview_date, period)
    key = (
        "interview.promise_echo_none"
        if period.unit is PeriodUnit.UNSPECIFIED
        else "interview.promise_echo_at"
        if timed
        else "interview.promise_echo"
    )
    return [ctx.reply(ctx.t(key, promised=describe_period(ctx, period), due=ctx.fmt_date(due)))]


# --- summary and saving ---------------------------------------------------------------------


def describe_period(ctx: Context, period: PromisedPeriod, *, catalog_table: str = "period") -> str:
    """Phrase a promised period: ``period.*`` for cards, ``template_period.*`` in templates."""
    if period.unit is PeriodUnit.DATE and period.until is not None:
        return ctx.t(f"{catalog_table}.date", date=ctx.fmt_date(period.until))
    if period.unit is PeriodUnit.AT and period.at is not None:
        return ctx.t(f"{catalog_table}.at", at=ctx.fmt_datetime(period.at))
    return ctx.t(f"{catalog_table}.{period.unit.name.lower()}", n=period.amount)


def _shown(ctx: Context, q: Question, data: dict[str, Any]) -> str:
    """How an answer reads on the summary card."""
    none = ctx.t("interview.summary.none")
    value = data.get(q.key)
    if value is None or value == "":
        return none
    if q.kind is AnswerKind.CHOICE:
        return ctx.t(f"{q.labels}.{value}")
    if q.kind is AnswerKind.DATE:
        return ctx.fmt_date(date.fromisoformat(value))
    if q.kind is AnswerKind.MOMENT:
        return ctx.fmt_datetime(datetime.fromisoformat(value))
    if q.kind is AnswerKind.PERIOD:
        interview_date = date.fromisoformat(data[q.counted_from])
        period = PromisedPeriod.from_storage(value)
        if period.unit is PeriodUnit.AT:  # the moment says its own day
            return describe_period(ctx, period)
        return ctx.t(
            "interview.summary.period",
            promised=describe_period(ctx, period),
            due=ctx.fmt_date(calendar.promised_day(interview_date, period)),
        )
    if q.kind is AnswerKind.YES_NO:
        shown = ctx.t("interview.choice.yes" if value else "interview.choice.no")
        memo = data.get(q.follow_up.key) if q.follow_up is not None else None
        return (
            ctx.t("interview.summary.with_memo", answer=shown, memo=memo)
            if value and memo
            else shown
        )
    return str(value)


def _summary(ctx: Context, table: Registration, data: dict[str, Any]) -> Reply:
    lines = "\n".join(
        ctx.t("interview.summary.line", label=ctx.t(q.label_key), value=_shown(ctx, q, data))
        for q in table.on_card(data)
    )
    return ctx.reply(
        ctx.t("interview.summary.card", lines=lines),
        [
            ctx.button("interview.summary.save", flow_action(FLOW, SUMMARY, "save")),
            ctx.button("interview.summary.edit", flow_action(FLOW, SUMMARY, "edit")),
            ctx.button("controls.cancel", flow_action(FLOW, SUMMARY, CANCEL)),
        ],
        columns=3,
    )


async def _take_summary(
    ctx: Context, table: Registration, data: dict[str, Any], reply: Answer
) -> list[Reply]:
    value = reply.value
    if value is None and reply.text is not None:
        picked = typed_choice(ctx, reply.text, SUMMARY_OPTIONS)
        if isinstance(picked, Unmatched):
            return [_not_a_choice(ctx, picked), _summary(ctx, table, data)]
        value = picked
    if value == "edit":
        await ctx.go(FLOW, EDIT_PICK, data)
        return [_ask(ctx, table, EDIT_PICK, data)]
    if value == "save":
        return await _save(ctx, table, data)
    return [ctx.reply(ctx.t("interview.use_buttons")), _summary(ctx, table, data)]


async def _take_edit_pick(
    ctx: Context, table: Registration, data: dict[str, Any], reply: Answer
) -> list[Reply]:
    editable = tuple(q.key for q in table.editable(data))
    value = reply.value
    if value is None and reply.text is not None:
        picked = typed_choice(
            ctx, reply.text, [Option(q.key, q.label_key) for q in table.editable(data)]
        )
        if isinstance(picked, Unmatched):
            return [_not_a_choice(ctx, picked), _ask(ctx, table, EDIT_PICK, data)]
        value = picked
    if value not in editable:
        return [ctx.reply(ctx.t("interview.use_buttons")), _ask(ctx, table, EDIT_PICK, data)]
    data["_editing"] = True
    data["_trail"] = []
    await ctx.go(FLOW, value, data)
    return [_ask(ctx, table, value, data)]


def _data_from(interview: Interview, table: Registration) -> dict[str, Any]:
    data: dict[str, Any] = {"_trail": [], "_iid": interview.id}
    if interview.status == InterviewStatus.SCHEDULED.value:
        data[ROUND] = SCHEDULED_ROUND
    for column in table.columns():
        value = getattr(interview, column.attribute)
        if value is None:
            continue
        plain = column.codec is Codec.PLAIN
        data[column.data] = value if plain else value.isoformat()
    return data


def _apply(interview: Interview, data: dict[str, Any], table: Registration, tz: str) -> None:
    for column in table.columns():
        value = data.get(column.data)
        if column.codec is Codec.ISO_DATE and value is not None:
            value = date.fromisoformat(value)
        if column.codec is Codec.ISO_DATETIME and value is not None:
            value = datetime.fromisoformat(value)
        setattr(interview, column.attribute, value)
    if scheduled_round(data) and interview.scheduled_at is not None:
        # Until it has taken place, a round's day is its time's, and nothing was promised yet.
        interview.interview_date = calendar.local_today(interview.scheduled_at, tz)
        interview.promised = NOT_YET_PROMISED
        interview.contact_method = NOT_YET_KNOWN_METHOD


async def _save(ctx: Context, table: Registration, data: dict[str, Any]) -> list[Reply]:
    interview_id = data.get("_iid")
    if interview_id is not None:
        return await _save_existing(ctx, table, data, int(interview_id))
    interview = Interview(status=InterviewStatus.WAITING.value, followups_sent=0, muted=False)
    interview.user_id = ctx.user.id
    _apply(interview, data, table, ctx.user.timezone)
    interview.application_id = await _application_for(ctx, data, interview.company)
    if scheduled_round(data):
        interview.status = InterviewStatus.SCHEDULED.value
    ctx.uow.interviews.add(interview)
    await ctx.uow.interviews.flush()
    ctx.uow.history.record(interview.id, None, interview.status)
    await ctx.end_flow()
    if scheduled_round(data):
        await planning.plan_round(ctx, interview)
        return [_round_saved(ctx, interview)]
    checkin = await planning.plan(ctx, interview)
    tips = planning.pick_tips(ctx, "pools.waiting", 2)
    return [
        ctx.reply(
            ctx.t(
                "interview.saved",
                company=interview.company,
                when=ctx.fmt_datetime(checkin),
            )
        ),
        calendar_files.offer(ctx, interview),
        ctx.reply(ctx.t("interview.first_tips", tips=ctx.bullets(tips)), main_menu(ctx)),
    ]


async def _application_for(ctx: Context, data: dict[str, Any], company: str) -> int:
    """The application a new round joins: the one named (if it is the user's), else a new one."""
    named = data.get("_app")
    if named is not None:
        found = await ctx.uow.applications.owned(ctx.user.id, int(named))
        if found is not None:
            return found.id
    return (await ctx.uow.applications.create(ctx.user.id, company)).id


def _round_saved(ctx: Context, interview: Interview) -> Reply:
    when = ctx.fmt_datetime(interview.scheduled_at) if interview.scheduled_at else ""
    return ctx.reply(
        ctx.t("interview.round_saved", company=interview.company, when=when), main_menu(ctx)
    )


async def _save_existing(
    ctx: Context, table: Registration, data: dict[str, Any], interview_id: int
) -> list[Reply]:
    existing = await ctx.uow.interviews.owned(ctx.user.id, interview_id)
    if existing is None:
        await ctx.end_flow()
        return [ctx.reply(ctx.t("errors.interview_gone"), main_menu(ctx))]
    was_scheduled = existing.status == InterviewStatus.SCHEDULED.value
    old_time = existing.scheduled_at
    schedule_changed = existing.interview_date.isoformat() != data.get(
        "date"
    ) or existing.promised != data.get("promised")
    _apply(existing, data, table, ctx.user.timezone)
    await ctx.end_flow()
    if was_scheduled and scheduled_round(data):
        # Still ahead: a new time moves the preparation reminders with it.
        if existing.scheduled_at != old_time:
            await planning.replan_round(ctx, existing)
            return [_round_saved(ctx, existing)]
        return [ctx.reply(ctx.t("interview.updated", company=existing.company), main_menu(ctx))]
    replies = [ctx.reply(ctx.t("interview.updated", company=existing.company))]
    if was_scheduled:
        # The round took place: from now on the result is awaited like any interview's.
        ctx.uow.history.record(existing.id, existing.status, InterviewStatus.WAITING.value)
        existing.status = InterviewStatus.WAITING.value
        schedule_changed = True
    if schedule_changed and InterviewStatus(existing.status).is_open:
        checkin = await planning.replan(ctx, existing)
        replies.append(ctx.reply(ctx.t("interview.checkin_at", when=ctx.fmt_datetime(checkin))))
    replies[-1] = ctx.reply(replies[-1].text, main_menu(ctx))
    return replies
