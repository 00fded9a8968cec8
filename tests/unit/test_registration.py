"""Recording an interview through the engine, the way a user would: taps, typing, mistakes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Renraku
from bot.engine import Engine
from storage.models import DialogueState, Interview, Reminder, StatusChange
from tests.support import Chat
from tests.walker import TAPS, EngineChat, Typed, Walker, onboard_engine, register


async def _interviews(app: Renraku) -> list[Interview]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Interview).order_by(Interview.id))).all())


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.due_at))).all())


async def _state(app: Renraku) -> tuple[str, str] | None:
    async with app.uow() as uow:
        row = await uow.session.scalar(select(DialogueState))
        return (row.flow, row.step) if row else None


async def onboard(chat: Chat, name: str = "応募者", **answers: str) -> None:
    await onboard_engine(chat, name, **answers)


async def register_by_taps(chat: Chat, company: str = "株式会社サンプル") -> list[str]:
    card = await register(chat, TAPS | {"company": company}, Walker(chat.engine.catalog))
    await chat.press("保存")
    return [card, chat.text]


async def test_full_registration_by_taps_saves_every_answer(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    card, saved = await register_by_taps(chat)

    # The card names the promised day; the check-in is the business day after it.
    assert "株式会社サンプル" in card and "11月25日(水)" in card and "12月9日(水)" in card
    assert "12月10日(木) 10:00" in saved
    [interview] = await _interviews(app)
    assert interview.company == "株式会社サンプル"
    assert interview.interview_date == date(2026, 11, 25)
    assert (interview.stage, interview.promised, interview.contact_method) == (
        "first",
        "weeks:2",
        "email",
    )
    assert interview.interviewer_name == "人事部 採用担当"
    assert interview.interviewer_contact == "saiyo@example.co.jp"
    assert interview.asked_what_if_silent is True
    assert interview.asked_memo == "人事部に電話してよいとのこと"
    assert interview.reflection_good == "志望動機を具体的に話せた"
    assert interview.reflection_improve == "逆質問をもっと用意する"
    assert (interview.position, interview.applied_via, interview.department) == (
        "営業職",
        "direct",
        "人事部",
    )
    assert (interview.agent_name, interview.agent_contact) == (None, None)
    assert "応募職種: 営業職" in card and "応募方法: 直接応募" in card
    assert "担当者の部署: 人事部" in card
    assert interview.status == "waiting"
    assert await _state(app) is None


async def test_saving_plans_the_halfway_nudge_and_the_promised_day(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    reminders = await _reminders(app)
    # 10:00 in Tokyo is 01:00 UTC.
    assert [(r.kind, r.due_at) for r in reminders] == [
        ("halfway", datetime(2026, 12, 2, 1, 0, tzinfo=UTC)),
        ("followup", datetime(2026, 12, 10, 1, 0, tzinfo=UTC)),
    ]
    async with app.uow() as uow:
        history = (await uow.session.scalars(select(StatusChange))).all()
    assert [(h.from_status, h.to_status) for h in history] == [(None, "waiting")]


async def test_typed_answers_are_understood_and_echoed(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル商事")
    await chat.press("日付を入力")
    await chat.say("11/20")
    assert "11月20日(金)" in chat.text
    await chat.say("二次面接")
    await chat.say("スキップ")  # the position
    await chat.say("5営業日以内")
    # 5 business days after Fri 11/20, skipping the 23rd (Labour Thanksgiving Day).
    assert "11月30日(月)" in chat.text
    await chat.say("電話")
    assert "着信" in chat.text
    # Every optional question after it, skipped by typing the word.
    await Walker(engine.catalog).walk(EngineChat(chat), {}, typed=True)
    await chat.say("保存")
    [interview] = await _interviews(app)
    assert (interview.interview_date, interview.stage, interview.promised) == (
        date(2026, 11, 20),
        "second",
        "bdays:5",
    )
    assert interview.interviewer_name is None and interview.reflection_good is None


AGENT = {"applied_via": "転職エージェント"}


@pytest.mark.parametrize(
    ("step", "bad", "expected"),
    [
        ("company", "   ", "空のまま"),
        ("company", "あ" * 101, "100文字以内"),
        ("company", "\x00\x07", "使えない文字"),
        ("company", "🍣🎉", "絵文字や記号だけ"),
        ("date_input", "2/30", "日付として読み取れません"),
        ("date_input", "🍣🍣🍣", "日付として読み取れません"),
        ("date_input", "2026-12-31", "未来の日付"),
        ("date_input", "x" * 10_000, "日付として読み取れません"),
        ("position", "あ" * 101, "100文字以内"),
        ("position", "🍣🎉", "絵文字や記号だけ"),
        ("promised", "そのうち", "期間として読み取れません"),
        ("promised", "999週間", "期間として読み取れません"),
        ("agent_name", "あ" * 101, "100文字以内"),
        ("agent_contact", "not-an-address", "メールアドレスか電話番号"),
        ("department", "あ" * 101, "100文字以内"),
        ("contact", "not-an-address", "メールアドレスか電話番号"),
        ("contact", "📞" * 40, "メールアドレスか電話番号"),
    ],
)
async def test_bad_input_gets_a_kind_reply_and_changes_nothing(
    app: Renraku, engine: Engine, step: str, bad: str, expected: str
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    answers = TAPS | AGENT | {"date": "日付を入力", "date_input": "11/20"}
    await Walker(engine.catalog).walk(EngineChat(chat), answers, until=step)
    before = await _state(app)
    question = chat.last[-1].text
    async with app.uow() as uow:
        data_before = (await uow.session.scalar(select(DialogueState))).data  # type: ignore[union-attr]

    replies = await chat.say(bad)

    assert expected in chat.text
    assert "Traceback" not in chat.text
    # The same question is asked again, and nothing moved on or was stored.
    assert replies[-1].text == question
    assert await _state(app) == before
    async with app.uow() as uow:
        assert (await uow.session.scalar(select(DialogueState))).data == data_before  # type: ignore[union-attr]
    assert await _interviews(app) == []


async def test_required_question_cannot_be_skipped(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("スキップ")
    assert "スキップできません" in chat.text
    assert await _state(app) == ("new", "company")


async def test_back_returns_to_the_previous_question_keeping_answers(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル")
    await chat.press("今日")
    await chat.press("一次面接")
    await chat.say("営業職")
    assert await _state(app) == ("new", "promised")
    await chat.press("戻る")
    assert await _state(app) == ("new", "position")
    await chat.press("戻る")
    assert await _state(app) == ("new", "stage")
    await chat.press("戻る")
    assert await _state(app) == ("new", "date")
    await chat.say("戻る")
    assert await _state(app) == ("new", "company")
    await chat.say("戻る")
    assert "最初の質問" in chat.text


async def test_cancel_at_any_step_saves_nothing(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル")
    await chat.press("今日")
    await chat.press("キャンセル")
    assert "何も保存していません" in chat.text
    assert await _state(app) is None
    assert await _interviews(app) == []


async def test_summary_fix_changes_one_field_and_returns_to_the_card(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    answers = {
        "company": "サンプル",
        "date": "今日",
        "stage": "最終面接",
        "promised": "1週間以内",
        "method": "不明",
    }
    await register(chat, answers, Walker(engine.catalog))
    await chat.press("修正")
    await chat.press("会社名")
    await chat.say("株式会社サンプル本社")
    assert "会社名: 株式会社サンプル本社" in chat.text
    assert "段階: 最終面接" in chat.text
    await chat.press("保存")
    [interview] = await _interviews(app)
    assert interview.company == "株式会社サンプル本社"


async def test_stale_answer_button_from_an_earlier_step_is_refused(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル")
    today = chat.action_for("今日")
    await chat.act(today)
    await chat.act(today)
    catalog = engine.catalog
    # The stale reply itself, then the open question again; never the reply to a fault,
    # which the engine gives for any exception and which would also "answer" the tap.
    assert [r.text for r in chat.last] == [
        catalog.text("ja", "errors.stale_button_in_flow"),
        catalog.text("ja", "interview.ask.stage"),
    ]
    assert catalog.text("ja", "errors.unexpected") not in chat.text
    assert "前の質問" in chat.text
    assert await _state(app) == ("new", "stage")


async def test_two_interviews_are_kept_apart(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat, "株式会社ひとつめ")
    await register_by_taps(chat, "株式会社ふたつめ")
    assert [i.company for i in await _interviews(app)] == ["株式会社ひとつめ", "株式会社ふたつめ"]
    assert len(await _reminders(app)) == 4


async def test_engine_survives_a_handler_fault_without_leaking_details(
    app: Renraku, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from handlers import listing

    async def broken(ctx: object) -> list[object]:
        raise RuntimeError("secret detail")

    chat = Chat(engine)
    await onboard(chat)
    monkeypatch.setitem(__import__("handlers.router").router.COMMANDS, "list", broken)
    await chat.say("/list")
    assert "うまく処理できませんでした" in chat.text
    assert "secret detail" not in chat.text
    # The log says what failed and where, never the message (it may quote user data).
    assert "RuntimeError at test_registration.py" in caplog.text
    assert "secret detail" not in caplog.text
    monkeypatch.setitem(__import__("handlers.router").router.COMMANDS, "list", listing.show_list)
    await chat.say("/list")
    assert "まだ記録がありません" in chat.text


async def test_count_of_users_is_one_per_chat(app: Renraku, engine: Engine) -> None:
    await Chat(engine, "a").say("/start")
    await Chat(engine, "a").say("/help")
    await Chat(engine, "b").say("/start")
    async with app.uow() as uow:
        assert await uow.users.count() == 2
        assert await uow.session.scalar(select(func.count()).select_from(Interview)) == 0


async def test_the_benchmark_script_records_one_interview(app: Renraku, engine: Engine) -> None:
    from bench.script import REGISTRATION, play

    chat = Chat(engine)
    unexpected = engine.catalog.text("ja", "errors.unexpected")
    for step in REGISTRATION:
        await play(chat, step, unexpected)
    [interview] = await _interviews(app)
    assert (interview.company, interview.asked_memo) == ("株式会社サンプル", TAPS["asked_memo"])


# --- applied through an agent ---------------------------------------------------------------

THROUGH_AGENT = TAPS | {
    "applied_via": "転職エージェント",
    "agent_name": "エージェント 田中",
    "agent_contact": "03-1234-5678",
}


async def test_a_registration_through_an_agent_keeps_the_agent_apart_from_the_company(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    card = await register(chat, THROUGH_AGENT, Walker(engine.catalog))
    lines = card.splitlines()
    assert "応募方法: 転職エージェント" in lines
    assert "エージェントの担当者: エージェント 田中" in lines
    assert "エージェントの連絡先: 03-1234-5678" in lines
    assert "担当者名: 人事部 採用担当" in lines
    await chat.press("保存")
    [interview] = await _interviews(app)
    assert (interview.applied_via, interview.agent_name, interview.agent_contact) == (
        "agent",
        "エージェント 田中",
        "03-1234-5678",
    )
    # The interviewer's answers stay the company's.
    assert interview.interviewer_name == "人事部 採用担当"
    assert interview.interviewer_contact == "saiyo@example.co.jp"


class Noting(EngineChat):
    """The engine chat, noting every question it answered."""

    def __init__(self, chat: Chat) -> None:
        super().__init__(chat)
        self.asked: list[str] = []

    async def say(self, text: str) -> Any:
        self.asked.append(self.chat.text)
        return await super().say(text)

    async def press(self, label: str) -> Any:
        self.asked.append(self.chat.text)
        return await super().press(label)


@pytest.mark.parametrize("applied_via", ["直接応募", "求人サイト・その他", None])
async def test_applied_directly_or_not_said_never_asks_for_the_agent(
    app: Renraku, engine: Engine, applied_via: str | None
) -> None:
    walker = Walker(engine.catalog)
    answers = dict(THROUGH_AGENT)
    answers.pop("applied_via")
    if applied_via is not None:
        answers["applied_via"] = applied_via
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    talker = Noting(chat)
    card = await walker.walk(talker, answers)
    asked = talker.asked

    assert walker.question_text("applied_via") in "".join(asked)
    for step in ("agent_name", "agent_contact"):
        assert not any(walker.question_text(step) in text for text in asked)
    assert "エージェント" not in card.replace("転職エージェント", "")
    await chat.press("保存")
    [interview] = await _interviews(app)
    assert (interview.agent_name, interview.agent_contact) == (None, None)


async def test_editing_agent_to_direct_clears_the_agent_and_back_asks_for_it(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register(chat, THROUGH_AGENT, Walker(engine.catalog))
    await chat.press("保存")

    await chat.say("/list")
    await chat.press("編集")
    await chat.press("応募方法")
    await chat.press("直接応募")
    assert "応募方法: 直接応募" in chat.text
    assert "エージェントの担当者" not in chat.text
    # Nor in the edit menu.
    await chat.press("修正")
    assert "エージェントの担当者" not in [c.label for c in chat.choices()]
    await chat.press("戻る")
    await chat.press("保存")
    [interview] = await _interviews(app)
    assert (interview.applied_via, interview.agent_name, interview.agent_contact) == (
        "direct",
        None,
        None,
    )

    # Back to an agent: its questions are asked next, then the card again.
    await chat.say("/list")
    await chat.press("編集")
    await chat.press("応募方法")
    await chat.press("転職エージェント")
    assert "エージェントの担当者のお名前を教えてください" in chat.text
    await chat.say("担当者B")
    assert "エージェントの担当者の連絡先" in chat.text
    await chat.say("sato@agent.example.jp")
    assert "エージェントの担当者: 担当者B" in chat.text
    await chat.press("保存")
    [interview] = await _interviews(app)
    assert (interview.applied_via, interview.agent_name, interview.agent_contact) == (
        "agent",
        "担当者B",
        "sato@agent.example.jp",
    )


# --- typed short forms ----------------------------------------------------------------------


async def test_typing_short_forms_finishes_a_registration(app: Renraku, engine: Engine) -> None:
    """Seen: typing 二次 looped on "choose from the buttons"; short forms are answers."""
    chat = Chat(engine)
    await onboard(chat)
    walker = Walker(engine.catalog)
    typed = {
        "company": "株式会社サンプル",
        "date": Typed("昨日"),
        "stage": Typed("二次"),
        "promised": Typed("２週間"),
        "method": Typed("めーる"),
        "applied_via": Typed("エージェント"),
        "agent_name": "田中",
        "asked": Typed("はい"),
        "asked_memo": "人事部に電話",
    }
    card = await register(chat, typed, walker)
    assert "下のボタンから選んでください" not in card
    assert "段階: 二次面接" in card and "連絡方法: メール" in card
    assert "応募方法: 転職エージェント" in card
    await chat.say("ほぞん")
    assert "保存しました" in chat.text
    [interview] = await _interviews(app)
    assert (
        interview.stage,
        interview.promised,
        interview.contact_method,
        interview.applied_via,
        interview.agent_name,
        interview.asked_what_if_silent,
    ) == ("second", "weeks:2", "email", "agent", "田中", True)


@pytest.mark.parametrize(
    ("step", "typed", "stored"),
    [
        ("stage", "二次", "second"),
        ("stage", "2次", "second"),
        ("stage", "２次", "second"),
        ("stage", "二次です", "second"),
        ("stage", "最終", "final"),
        ("stage", "一次", "first"),
        ("stage", "1次", "first"),
        ("stage", "カジュアル", "casual"),
        ("stage", "かじゅある", "casual"),
        ("stage", "Final", "final"),
        ("promised", "2週間", "weeks:2"),
        ("promised", "１週間", "weeks:1"),
        ("promised", "1ヶ月", "months:1"),
        ("promised", "1か月", "months:1"),
        ("promised", "一ヶ月", "months:1"),
        ("promised", "2週間以内", "weeks:2"),
        ("method", "メール", "email"),
        ("method", "めーる", "email"),
        ("method", "ﾒｰﾙ", "email"),
        ("method", "mail", "email"),
        ("method", "Email", "email"),
        ("method", "電話", "phone"),
        ("method", "でんわ", "phone"),
        ("method", "デンワ", "phone"),
        ("method", "phone", "phone"),
        ("method", "両方", "both"),
        ("applied_via", "直接", "direct"),
        ("applied_via", "エージェント", "agent"),
        ("applied_via", "えーじぇんと", "agent"),
        ("applied_via", "求人サイト", "site"),
        ("asked", "はい", True),
        ("asked", "うん", True),
        ("asked", "yes", True),
        ("asked", "いいえ", False),
        ("asked", "no", False),
    ],
)
async def test_a_short_form_typed_is_the_button_it_names(
    app: Renraku, engine: Engine, step: str, typed: str, stored: object
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    walker = Walker(engine.catalog)
    await walker.walk(EngineChat(chat), TAPS, until=step)
    await chat.say(typed)
    assert await _state(app) != ("new", step), chat.text
    async with app.uow() as uow:
        data = (await uow.session.scalar(select(DialogueState))).data  # type: ignore[union-attr]
    assert data[step] == stored


@pytest.mark.parametrize(
    ("step", "typed", "kind_line"),
    [
        ("stage", "三次か最終", "どれを選んだのか読み取れませんでした"),
        ("method", "手紙", "どれを選んだのか読み取れませんでした"),
        ("applied_via", "友人の紹介かも", "どれを選んだのか読み取れませんでした"),
        ("asked", "たぶん", "どれを選んだのか読み取れませんでした"),
    ],
)
async def test_an_unknown_short_form_gets_a_kind_line_and_the_choices_again(
    app: Renraku, engine: Engine, step: str, typed: str, kind_line: str
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await Walker(engine.catalog).walk(EngineChat(chat), TAPS, until=step)
    question = chat.last[-1]
    await chat.say(typed)
    assert kind_line in chat.text
    assert chat.last[-1] == question
    assert await _state(app) == ("new", step)


async def test_a_word_naming_two_choices_is_asked_again(
    app: Renraku, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a catalog where one word is declared for two stages, typing it picks neither.
    from messages.catalog import Catalog

    entries = {locale: dict(table) for locale, table in engine.catalog.entries.items()}
    entries["ja"]["interview.words.stage.other"] = ("その他", "二次")
    monkeypatch.setattr(engine, "catalog", Catalog(entries))
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await Walker(engine.catalog).walk(EngineChat(chat), TAPS, until="stage")
    await chat.say("二次")
    assert "いくつかの選択肢に当てはまりそうです" in chat.text
    assert await _state(app) == ("new", "stage")
