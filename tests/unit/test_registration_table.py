"""A new question is one row: add it to a copy of the table, and everything else follows."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from handlers import interview, router
from handlers.registration import REGISTRATION, AnswerKind, Question, Registration
from messages.catalog import Catalog
from storage.models import DialogueState, Interview
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard
from tests.walker import TAPS, Walker, register

VENUE = Question("venue", AnswerKind.TEXT, optional=True, limit=50)
# Asked only when the answers so far say so: a call-back time matters only for a phone result.
CALL_HOURS = Question(
    "call_hours",
    AnswerKind.TEXT,
    optional=True,
    limit=50,
    asked_if=lambda d: d.get("method") == "phone",
)
TEXTS = {
    "ja": {
        "interview.ask.venue": "面接を受けた場所を教えてください。",
        "interview.field.venue": "面接会場",
        "interview.ask.call_hours": "電話に出やすい時間帯はありますか。",
        "interview.field.call_hours": "電話に出やすい時間",
    },
    "en": {
        "interview.ask.venue": "Where was the interview held?",
        "interview.field.venue": "Venue",
        "interview.ask.call_hours": "When can you take a call?",
        "interview.field.call_hours": "Call hours",
    },
}


def with_question(question: Question, after: str) -> Registration:
    rows = list(REGISTRATION.questions)
    rows.insert([q.key for q in rows].index(after) + 1, question)
    return replace(REGISTRATION, questions=tuple(rows))


@pytest.fixture
def table_engine(
    app: Renraku,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> tuple[Engine, Registration]:
    """The engine with the test's table and its texts; the production table is untouched."""
    table: Registration = request.param
    overlay = Catalog(
        {locale: {**entries, **TEXTS[locale]} for locale, entries in app.catalog.entries.items()}
    )
    monkeypatch.setitem(router.COMMANDS, "new", partial(interview.begin, table=table))
    monkeypatch.setitem(router.FLOWS, interview.FLOW, partial(interview.answer, table=table))
    return Engine(app.uow, overlay, clock=clock), table


async def _data(app: Renraku) -> dict[str, object]:
    async with app.uow() as uow:
        row = await uow.session.scalar(select(DialogueState))
        assert row is not None
        return dict(row.data)


@pytest.mark.parametrize("table_engine", [with_question(VENUE, "stage")], indirect=True)
async def test_an_added_question_is_asked_shown_editable_and_kept(
    app: Renraku, table_engine: tuple[Engine, Registration]
) -> None:
    engine, table = table_engine
    walker = Walker(engine.catalog, table)
    chat = Chat(engine)
    await onboard(chat)

    card = await register(chat, TAPS | {"venue": "本社ビル 8階"}, walker)

    lines = card.splitlines()
    assert "面接会場: 本社ビル 8階" in lines
    assert lines.index("段階: 一次面接") + 1 == lines.index("面接会場: 本社ビル 8階")
    assert (await _data(app))["venue"] == "本社ビル 8階"
    await chat.press("修正")
    assert "面接会場" in [c.label for c in chat.choices()]
    await chat.press("面接会場")
    assert "面接を受けた場所を教えてください。" in chat.text
    await chat.say("オンライン")
    assert "面接会場: オンライン" in chat.text
    assert "会社名: 株式会社サンプル" in chat.text
    assert (await _data(app))["venue"] == "オンライン"
    await chat.press("保存")
    async with app.uow() as uow:
        [saved] = (await uow.session.scalars(select(Interview))).all()
    assert saved.company == "株式会社サンプル"


@pytest.mark.parametrize("table_engine", [with_question(VENUE, "stage")], indirect=True)
async def test_an_added_optional_question_left_out_is_skipped(
    app: Renraku, table_engine: tuple[Engine, Registration]
) -> None:
    engine, table = table_engine
    chat = Chat(engine)
    await onboard(chat)
    card = await register(chat, TAPS, Walker(engine.catalog, table))
    assert "面接会場: —" in card.splitlines()
    assert "venue" not in await _data(app)


@pytest.mark.parametrize("table_engine", [with_question(CALL_HOURS, "method")], indirect=True)
@pytest.mark.parametrize(("method", "asked"), [("電話", True), ("メール", False)])
async def test_a_question_asked_only_when_an_earlier_answer_says_so(
    app: Renraku, table_engine: tuple[Engine, Registration], method: str, asked: bool
) -> None:
    engine, table = table_engine
    walker = Walker(engine.catalog, table)
    chat = Chat(engine)
    await onboard(chat)
    answers = TAPS | {"method": method, "call_hours": "平日の夕方"}
    card = await register(chat, answers, walker)
    assert ("電話に出やすい時間: 平日の夕方" in card) is asked
    assert [step for step, _ in walker.plan(answers)].count("call_hours") == int(asked)
    await chat.press("修正")
    assert ("電話に出やすい時間" in [c.label for c in chat.choices()]) is asked


def test_the_production_table_is_left_alone() -> None:
    assert "venue" not in [q.key for q in REGISTRATION.questions]
    assert with_question(VENUE, "stage") is not REGISTRATION
