"""Quick entry: one free sentence about an interview becomes a prefilled record.

domain/parsing/sentence.py reads the sentence; this module keeps only what the interview flow
itself would accept (a past date within a year, a promise after the interview) and hands the
rest to handlers/interview.py, which asks what is still missing and shows the card.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain import calendar
from domain.calendar import PromisedPeriod
from domain.parsing import TextProblem, clean_text
from domain.parsing.sentence import SentenceReading, read_sentence
from domain.protocol import Reply
from handlers import interview
from handlers.context import Context
from handlers.registration import COMPANY_MAX, REGISTRATION

# More names than fit on a row of buttons are not a choice any more; the user types it.
MAX_CANDIDATES = 4


async def take_sentence(ctx: Context, text: str) -> list[Reply] | None:
    """The record a sentence starts, or None when the sentence is not about an interview."""
    reading = read_sentence(text, ctx.today)
    if reading is None:
        return None
    data = _answers(ctx, reading)
    companies = _companies(reading)
    if len(companies) > 1:
        data[interview.CANDIDATES] = {"company": companies[:MAX_CANDIDATES]}
    elif companies:
        data["company"] = companies[0]
    intro = [ctx.t("quick.intro")]
    intro += [
        ctx.t("quick.unsure", field=ctx.t(f"interview.field.{key}"))
        for key in sorted(reading.unsure - {"company"})
    ]
    asked = REGISTRATION.next_after(None, {**data, "_said": list(data), "_required_only": True})
    intro.append(ctx.t("quick.ask_rest" if asked is not None else "quick.check_card"))
    if len(companies) > 1:
        # Said right before the company question, whose buttons are the names read.
        intro.append(ctx.t("quick.which_company"))
    return await interview.begin_prefilled(ctx, data, intro)


def _companies(reading: SentenceReading) -> list[str]:
    names = []
    for name in reading.companies:
        cleaned = clean_text(name, COMPANY_MAX, need_word=True)
        if not isinstance(cleaned, TextProblem):
            names.append(cleaned)
    return list(dict.fromkeys(names))


def _answers(ctx: Context, reading: SentenceReading) -> dict[str, Any]:
    """The answers a sentence gave, in the interview flow's data form; a date or promise the
    flow would refuse is left out, so it is asked instead."""
    data: dict[str, Any] = {}
    day = reading.interview_date
    if day is not None and _plausible_interview_day(ctx, day):
        data["date"] = day.isoformat()
    else:
        # The date is asked; a promise is checked against the latest it can be, today.
        day = ctx.today
    if reading.stage is not None:
        data["stage"] = reading.stage
    promised = reading.promised
    if promised is not None and _plausible_promise(promised, day):
        data["promised"] = promised.to_storage()
    if reading.method is not None:
        data["method"] = reading.method
    return data


def _plausible_interview_day(ctx: Context, day: date) -> bool:
    return day <= ctx.today and (ctx.today - day).days <= interview.OLDEST_INTERVIEW_DAYS


def _plausible_promise(period: PromisedPeriod, interview_day: date) -> bool:
    deadline = calendar.promised_day(interview_day, period)
    return (
        interview_day < deadline
        and (deadline - interview_day).days <= interview.LONGEST_PROMISE_DAYS
    )
