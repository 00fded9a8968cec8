"""Quick entry and notes over the real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from bot.bootstrap import Renraku
from tests.channels.telegram.support import TelegramChat, interviews_of, label

SENTENCE = "今日、株式会社〇〇の二次面接を受けました。結果は1週間以内にメールで来るそうです。"


async def test_a_sentence_becomes_a_card_saved_with_one_tap_and_takes_a_note(
    app: Renraku, aoi: TelegramChat
) -> None:
    sent = await aoi.say(SENTENCE)
    card = sent[-1]
    for shown in ("株式会社〇〇", "二次面接", "1週間以内", "メール"):
        assert shown in card.text, shown
    assert [b["text"] for b in card.callback_buttons()] == ["保存", "修正", "キャンセル"]
    assert await interviews_of(app, aoi.id) == []

    await aoi.press(label(app, "interview.summary.save"))
    [saved] = await interviews_of(app, aoi.id)
    assert (saved.company, saved.stage, saved.promised) == ("株式会社〇〇", "second", "weeks:1")

    await aoi.say("/list")
    await aoi.press(label(app, "notes.add"))
    sent = await aoi.say("一次面接のお礼メールを送った")
    assert "追記しました" in aoi.text(sent)
    sent = await aoi.say("/list")
    assert "一次面接のお礼メールを送った" in aoi.text(sent)
