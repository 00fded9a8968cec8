"""Adjacent replies as one Telegram message: an acknowledgement rides with the next question."""

from __future__ import annotations

from bot.bootstrap import Renraku
from bot.channels.telegram_render import MAX_CAPTION, MAX_MESSAGE_TEXT, joined_replies
from domain.protocol import Choice, CopyItem, Document, Reply
from tests.channels.telegram.support import TelegramChat

ACK = Reply(text="承知しました。")
QUESTION = Reply(text="面接を受けた会社名を教えてください。", choices=(Choice("スキップ", "s"),))


def test_a_plain_reply_is_joined_to_the_next_and_the_buttons_stay_under_it() -> None:
    [one] = joined_replies([ACK, Reply(text="ありがとうございます。"), QUESTION])
    assert (
        one.text
        == "承知しました。\n\nありがとうございます。\n\n面接を受けた会社名を教えてください。"
    )
    assert one.choices == QUESTION.choices


def test_a_reply_with_buttons_copy_items_or_a_file_is_never_joined_to_the_next() -> None:
    copy = Reply(text="件名", copy_items=(CopyItem("件名", "面接のお礼"),))
    file = Reply(text="書き出し", document=Document("export.json", b"{}"))
    replies = [QUESTION, ACK, copy, ACK, file, ACK]
    assert [r.text for r in joined_replies(replies)] == [
        QUESTION.text,
        "承知しました。\n\n件名",
        "承知しました。\n\n書き出し",
        ACK.text,
    ]


def test_texts_that_would_not_fit_one_message_or_caption_stay_apart() -> None:
    long = Reply(text="あ" * (MAX_MESSAGE_TEXT - 5))
    assert joined_replies([long, QUESTION]) == [long, QUESTION]
    caption = Reply(text="あ" * (MAX_CAPTION - 5))
    file = Reply(text="書き出し", document=Document("export.json", b"{}"))
    assert joined_replies([caption, file]) == [caption, file]


async def test_new_asks_for_the_company_in_one_message_with_its_acknowledgement(
    aoi: TelegramChat,
) -> None:
    [sent] = await aoi.say("/new")
    assert sent.text.startswith("面接おつかれさまでした。")
    assert sent.text.endswith("面接を受けた会社名を教えてください。")


def test_a_reminder_with_a_plain_intro_takes_one_part_less(app: Renraku) -> None:
    telegram = app.pushers["telegram"]
    intro = Reply(text="昨日の面接のフォローです。")
    mail = Reply(
        text="お礼メール", copy_items=(CopyItem("本文", "本日はありがとうございました。"),)
    )
    parts = telegram.parts([intro, mail, QUESTION])
    assert len(parts) == 2
    # The copy block stays tap-to-copy in the joined part.
    assert parts[0][0].copy_items == mail.copy_items
    assert parts[0][0].text.startswith(intro.text)
