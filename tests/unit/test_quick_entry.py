"""Quick entry: one free sentence about an interview becomes a prefilled card."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing.sentence import read_sentence
from storage.models import DialogueState, Interview
from tests.support import Chat
from tests.unit.test_registration import onboard

TODAY = date(2026, 11, 25)  # a Wednesday, as in tests/conftest.py
JA = "今日、株式会社〇〇の二次面接を受けました。結果は1週間以内にメールで来るそうです。"
EN = "I had a second-round interview at Acme Inc. today; they will email me within a week."


async def _interviews(app: Renraku) -> list[Interview]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Interview).order_by(Interview.id))).all())


async def _count(app: Renraku) -> int:
    async with app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Interview)) or 0)


# --- reading the sentence -------------------------------------------------------------------


def test_the_japanese_sentence_holds_every_field() -> None:
    reading = read_sentence(JA, TODAY)
    assert reading is not None
    assert reading.companies == ("株式会社〇〇",)
    assert reading.interview_date == TODAY
    assert reading.stage == "second"
    assert reading.promised == PromisedPeriod(PeriodUnit.WEEKS, 1)
    assert reading.method == "email"
    assert not reading.unsure


def test_the_english_sentence_holds_every_field() -> None:
    reading = read_sentence(EN, TODAY)
    assert reading is not None
    assert reading.companies == ("Acme Inc.",)
    assert (reading.interview_date, reading.stage, reading.method) == (TODAY, "second", "email")
    assert reading.promised == PromisedPeriod(PeriodUnit.WEEKS, 1)


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("サンプル株式会社の一次面接", "サンプル株式会社"),
        ("有限会社ヤマダで面接", "有限会社ヤマダ"),
        ("合同会社テックの面談", "合同会社テック"),
        ("㈱テストの最終面接", "(株)テスト"),
        ("（株）テストの最終面接", "(株)テスト"),
        ("ABC社の面接を受けた", "ABC社"),
        ("今日はサンプル株式会社でした", "サンプル株式会社"),
        ("Final interview at Globex Co., Ltd. on Monday", "Globex Co., Ltd."),
        ("interview at Initech yesterday", "Initech"),
    ],
)
def test_company_forms(text: str, company: str) -> None:
    reading = read_sentence(text, TODAY)
    assert reading is not None and reading.companies == (company,)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("昨日、面接を受けました", date(2026, 11, 24)),
        ("一昨日の面接", date(2026, 11, 23)),
        ("11月20日に面接", date(2026, 11, 20)),
        ("11/20 面接", date(2026, 11, 20)),
        ("先週金曜に一次面接", date(2026, 11, 20)),
        ("interview yesterday", date(2026, 11, 24)),
        ("interview last friday", date(2026, 11, 20)),
    ],
)
def test_interview_dates(text: str, day: date) -> None:
    reading = read_sentence(text, TODAY)
    assert reading is not None and reading.interview_date == day


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("面接、10日以内に連絡", PromisedPeriod(PeriodUnit.DAYS, 10)),
        ("面接、結果は3日後", PromisedPeriod(PeriodUnit.DAYS, 3)),
        ("面接、12/10までに連絡", PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 10))),
        ("interview, they reply within 10 days", PromisedPeriod(PeriodUnit.DAYS, 10)),
        ("interview, answer by Dec 10", PromisedPeriod(PeriodUnit.DATE, until=date(2026, 12, 10))),
    ],
)
def test_promised_periods(text: str, period: PromisedPeriod) -> None:
    reading = read_sentence(text, TODAY)
    assert reading is not None and reading.promised == period
    # A deadline date is the promise, never the interview's day.
    assert reading.interview_date is None


def test_a_deadline_is_not_taken_for_the_interview_day() -> None:
    reading = read_sentence("昨日の面接、11月30日までに電話で連絡", TODAY)
    assert reading is not None
    assert reading.interview_date == date(2026, 11, 24)
    assert reading.promised == PromisedPeriod(PeriodUnit.DATE, until=date(2026, 11, 30))
    assert reading.method == "phone"


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("面接、結果はメールか電話で", "both"),
        ("電話面接でした。結果はメールで", "email"),
        ("interview; they will call me", "phone"),
        ("interview, results by email or phone", "both"),
    ],
)
def test_result_methods(text: str, method: str) -> None:
    reading = read_sentence(text, TODAY)
    assert reading is not None and reading.method == method


def test_what_is_said_two_ways_is_left_unsure() -> None:
    reading = read_sentence("株式会社Aと株式会社Bの一次面接と二次面接。1週間以内か10日以内", TODAY)
    assert reading is not None
    assert reading.companies == ("株式会社A", "株式会社B")
    assert (reading.stage, reading.promised) == (None, None)
    assert reading.unsure == {"company", "stage", "promised"}


@pytest.mark.parametrize(
    "text", ["こんにちは", "ありがとう", "🍣", "", "hello there", "a" * 10_000, "御社に入社したい"]
)
def test_a_sentence_not_about_an_interview_reads_as_nothing(text: str) -> None:
    assert read_sentence(text, TODAY) is None


# --- the conversation -----------------------------------------------------------------------


async def test_the_japanese_sentence_becomes_a_card_and_saved_appears_in_the_list(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say(JA)
    card = chat.text
    for shown in ("株式会社〇〇", "二次面接", "1週間以内", "メール", "11月25日(水)"):
        assert shown in card, shown
    assert "応募職種: —" in card  # optional answers wait on the card, unasked
    assert [c.label for c in chat.choices()] == ["保存", "修正", "キャンセル"]
    assert await _count(app) == 0
    await chat.press("保存")
    assert "保存しました" in chat.text
    [saved] = await _interviews(app)
    assert (saved.company, saved.stage, saved.promised, saved.contact_method) == (
        "株式会社〇〇",
        "second",
        "weeks:1",
        "email",
    )
    assert saved.position is None
    await chat.say("/list")
    assert "株式会社〇〇（二次面接）" in chat.text


async def test_the_english_sentence_works_the_same_way(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/settings")
    await chat.press("言語")
    await chat.press("English")
    await chat.say(EN)
    for shown in ("Acme Inc.", "Second interview", "within 1 week", "Email"):
        assert shown in chat.text, shown
    await chat.press("Save")
    await chat.say("/list")
    assert "Acme Inc." in chat.text
    [saved] = await _interviews(app)
    assert (saved.stage, saved.promised, saved.contact_method) == ("second", "weeks:1", "email")


async def test_only_missing_required_answers_are_asked(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("昨日サンプル株式会社の面接を受けました")
    # The company and date were said; the stage is the first question left.
    assert "どの段階の面接でしたか" in chat.text
    await chat.press("一次面接")
    assert "結果はいつまでに連絡すると言われましたか" in chat.text
    await chat.press("2週間以内")
    assert "結果はどの方法で届く予定ですか" in chat.text
    await chat.press("電話")
    # Then the card: the optional questions (position, interviewer, ...) are not asked.
    assert "内容を確認してください" in chat.text
    assert "サンプル株式会社" in chat.text and "11月24日(火)" in chat.text
    await chat.press("修正")
    await chat.press("応募職種")
    await chat.say("営業職")
    assert "営業職" in chat.text and "内容を確認してください" in chat.text
    await chat.press("保存")
    [saved] = await _interviews(app)
    assert (saved.company, saved.stage, saved.position) == ("サンプル株式会社", "first", "営業職")


async def test_two_companies_are_offered_as_buttons(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("今日、株式会社Aと株式会社Bの一次面接。2週間以内にメールで")
    assert "会社名が複数読み取れました" in chat.text
    assert "面接を受けた会社名を教えてください" in chat.text
    labels = [c.label for c in chat.choices()]
    assert labels[:2] == ["株式会社A", "株式会社B"]
    await chat.press("株式会社B")
    assert "内容を確認してください" in chat.text and "株式会社B" in chat.text
    await chat.press("保存")
    [saved] = await _interviews(app)
    assert saved.company == "株式会社B"


async def test_two_stages_are_asked_and_say_why(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("今日、株式会社サンプルの一次面接と二次面接を受けました")
    assert "「段階」は読み取り方が複数あった" in chat.text
    assert "どの段階の面接でしたか" in chat.text


async def test_cancel_on_the_card_saves_nothing(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say(JA)
    await chat.press("キャンセル")
    assert "何も保存していません" in chat.text
    assert await _count(app) == 0


async def test_a_sentence_not_about_an_interview_gets_the_menu(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("こんにちは、いい天気ですね")
    assert "うまく受け取れませんでした" in chat.text
    assert [c.label for c in chat.choices()] == ["面接を記録", "一覧", "設定", "ヘルプ"]


async def test_help_says_what_a_sentence_can_hold(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/help")
    assert "株式会社サンプルの二次面接を受けました" in chat.text


def _random_text(rng: random.Random) -> str:
    alphabets = [
        "abcdefghijklmnopqrstuvwxyz ABCXYZ.,;",
        "あいうえおかきくけこのでにを、。",
        "株式会社面接選考一次二次最終社日月週以内後まで",
        "0123456789/-:()（）〜",
        "🍣👍🏽🇯🇵✨",
        "\x00\x07\x1b\u202e\u200b\ufeff\r\n\t",
        "Привет مرحبا שלום 안녕하세요 你好",
    ]
    pieces = [
        "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(0, 12)))
        for _ in range(rng.randint(1, 8))
    ]
    return "".join(pieces)


FUZZ = [
    "",
    " ",
    "\x00",
    "\x00株式会社\x07テストの面接",
    "🍣🍣🍣",
    "👍🏽🇯🇵",
    "株式会社" * 2500,
    "面接 " * 2000,
    "x" * 10_000,
    "Entrevista en Acme S.A. hoy",
    "Собеседование в компании",
    "面试在公司",
    "株式会社",
    "株式会社🍣の面接",
    "\u202e株式会社テストの面接",
    "株式会社" + "ア" * 200 + "の面接",
    "interview at " + "Acme " * 50,
    "{company}の面接 %s",
]


async def test_fuzzed_sentences_never_crash_and_never_save_unasked(
    app: Renraku, engine: Engine
) -> None:
    rng = random.Random(20261125)
    chat = Chat(engine)
    await onboard(chat)
    unexpected = app.catalog.text("ja", "errors.unexpected")
    texts = FUZZ + [_random_text(rng) for _ in range(150)]
    for text in texts:
        await chat.say("/cancel")
        replies = await chat.say(text)
        assert replies, repr(text[:40])
        assert all(unexpected not in r.text for r in replies), repr(text[:40])
        # Whatever was read, nothing is kept before 保存; any card's company fits its column.
        async with app.uow() as uow:
            state = await uow.session.scalar(select(DialogueState))
        if state is not None:
            company = state.data.get("company")
            assert company is None or 0 < len(company) <= 100
    assert await _count(app) == 0


async def test_a_sentence_naming_a_company_in_progress_offers_its_next_round(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say(JA)
    await chat.press("保存")
    [first] = await _interviews(app)
    await chat.act(f"o:{first.id}:pass")
    # Later, one sentence about the next round at the same company.
    await chat.say("今日、株式会社〇〇の最終面接を受けました。結果は2週間以内に電話で来ます。")
    assert "株式会社〇〇" in chat.text
    await chat.press(app.catalog.text("ja", "interview.choice.yes"))
    await chat.press("保存")
    first, second = await _interviews(app)
    assert second.application_id == first.application_id
    assert second.stage == "final"
