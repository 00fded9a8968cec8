"""Notes on an interview (追記): added from its card, shown there, exported, deleted with it."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.bootstrap import Renraku
from bot.engine import Engine
from storage.models import Interview, InterviewNote
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps


async def _note_count(app: Renraku) -> int:
    async with app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InterviewNote)) or 0)


async def _only_interview(app: Renraku) -> Interview:
    async with app.uow() as uow:
        [interview] = (await uow.session.scalars(select(Interview))).all()
        return interview


async def _add_note(chat: Chat, text: str) -> None:
    await chat.say("/list")
    await chat.press("追記")
    await chat.say(text)


async def test_a_note_is_shown_on_the_card_with_its_date_and_kept_in_the_export(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await chat.say("/list")
    await chat.press("追記")
    assert "株式会社サンプルの記録に追記する内容" in chat.text
    texts_written = ["人事の田中さんから、来週中に連絡すると電話があった"]
    await chat.say(texts_written[0])
    assert "追記しました（11月25日(水)）" in chat.text
    clock.advance(days=2)
    await _add_note(chat, "お礼のメールを送った")
    await chat.say("/list")
    card = next(r.text for r in chat.last if "株式会社サンプル" in r.text)
    # Newest first, each with the day it was written.
    assert "・11月27日(金) お礼のメールを送った\n・11月25日(水) 人事の田中さんから" in card

    replies = await chat.say("/export")
    [document] = [r.document for r in replies if r.document is not None]
    exported = json.loads(document.content)
    notes = exported["applications"][0]["rounds"][0]["notes"]
    assert [n["text"] for n in notes] == [
        "人事の田中さんから、来週中に連絡すると電話があった",
        "お礼のメールを送った",
    ]
    assert notes[0]["created_at"].startswith("2026-11-25")

    interview = await _only_interview(app)
    async with app.uow() as uow:
        newest_first = await uow.notes.notes_for(interview.id)
    assert [n.text for n in newest_first] == ["お礼のメールを送った", texts_written[0]]


async def test_the_card_shows_the_latest_few_and_counts_the_rest(
    engine: Engine, clock: ManualClock
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    for n in range(1, 6):
        await _add_note(chat, f"note {n}")
        clock.advance(hours=1)
    await chat.say("/list")
    card = next(r.text for r in chat.last if "株式会社サンプル" in r.text)
    assert "note 5" in card and "note 3" in card and "note 2" not in card
    assert "ほか 2 件" in card


async def test_a_note_over_1000_characters_is_refused_kindly_and_nothing_is_saved(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await _add_note(chat, "あ" * 1001)
    assert "1000文字以内でお願いします" in chat.text
    # The question stays open for a shorter one.
    assert "追記する内容を入力してください" in chat.text
    assert await _note_count(app) == 0
    for bad in ("   ", "\x00壊れた文字"):
        await chat.say(bad)
        assert await _note_count(app) == 0
    await chat.say("あ" * 1000)
    assert "追記しました" in chat.text
    assert await _note_count(app) == 1


async def test_cancel_adds_nothing(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await chat.say("/list")
    await chat.press("追記")
    await chat.press("キャンセル")
    assert "追記をやめました" in chat.text
    await chat.say("これはメモではなく会話です")
    assert await _note_count(app) == 0


async def test_a_forged_note_button_for_someone_elses_interview_touches_nothing(
    app: Renraku, engine: Engine
) -> None:
    owner, stranger = Chat(engine, "owner"), Chat(engine, "stranger")
    await onboard(owner)
    await register_by_taps(owner)
    interview = await _only_interview(app)
    await onboard(stranger, "他人")
    await stranger.act(f"i:{interview.id}:note")
    assert "見つかりませんでした" in stranger.text
    await stranger.say("他人のメモ")
    assert await _note_count(app) == 0
    await owner.say("/list")
    assert "他人のメモ" not in owner.text


async def test_deleting_the_interview_or_the_user_removes_the_notes(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await _add_note(chat, "一つ目")
    await chat.say("/list")
    await chat.press("削除")
    await chat.press("削除する")
    assert await _note_count(app) == 0

    await register_by_taps(chat)
    await _add_note(chat, "二つ目")
    assert await _note_count(app) == 1
    await chat.say("/deleteme")
    await chat.press("すべて削除する")
    assert await _note_count(app) == 0
