"""The real python-telegram-bot Application, polling the fake Bot API over HTTP."""

from __future__ import annotations

import json

from bot.bootstrap import Renraku
from bot.config import Settings
from handlers.router import COMMANDS
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    interviews_of,
    label,
    onboard,
    register_interview,
    running,
    user_row,
)
from tests.fakes.telegram_api import FakeTelegramAPI, Sent
from tests.support import ManualClock


def all_callback_data(messages: list[Sent]) -> list[str]:
    return [b["callback_data"] for m in messages for b in m.callback_buttons()]


async def test_start_polls_and_registers_the_command_menu_in_both_languages(
    fake: FakeTelegramAPI, app: Renraku
) -> None:
    await fake.wait_for(lambda: bool(fake.calls_to("getUpdates")))
    methods = [c.method for c in fake.calls]
    assert methods[0] == "getMe"
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    assert set(fake.commands) == {"ja", "en", None}
    for language in ("ja", "en"):
        assert fake.commands[language] == [
            {"command": name, "description": app.catalog.text(language, f"commands.{name}")}
            for name in COMMANDS
        ]
    assert fake.commands[None] == fake.commands["ja"]


async def test_start_greets_and_asks_for_the_name(app: Renraku, telegram: Telegram) -> None:
    sent = await telegram.chat(1001).say("/start")
    assert "Renraku" in sent[0].text
    assert sent[-1].callback_buttons() == [
        {"text": label(app, "controls.skip"), "callback_data": "a:onboarding:name:_skip"}
    ]
    assert all(m.parse_mode == "HTML" for m in sent)


async def test_english_user_gets_english(telegram: Telegram) -> None:
    sent = await telegram.chat(2002, language_code="en").say("/start")
    assert "Hello" in sent[0].text


async def test_a_whole_registration_by_taps_and_text(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    presses_before, pressed_before = len(fake.answered), aoi.presses
    seen = await register_interview(app, aoi, "株式会社ミライ")

    saved = await interviews_of(app, aoi.id)
    assert [i.company for i in saved] == ["株式会社ミライ"]
    assert saved[0].interviewer_name == "採用担当"
    assert saved[0].interviewer_contact == "sato@example.co.jp"
    assert "株式会社ミライ" in aoi.text(seen)
    # Every button it showed fits Telegram's callback data, and every press was answered.
    data = all_callback_data(seen)
    assert data and all(1 <= len(d.encode()) <= 64 for d in data)
    assert aoi.presses - pressed_before >= 8
    assert len(fake.answered) - presses_before == aoi.presses - pressed_before
    assert all(c.status == 200 for c in fake.calls_to("answerCallbackQuery"))


async def test_pressed_keyboards_are_retired(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    await aoi.press(label(app, "menu.new"))
    await aoi.say("株式会社ミライ")
    question = fake.find_button(aoi.id, label(app, "interview.choice.today"))[0]
    await aoi.press(label(app, "interview.choice.today"))
    assert question.reply_markup is None
    assert fake.calls_to("editMessageReplyMarkup")


async def test_a_restart_mid_conversation_resumes_the_same_question(
    fake: FakeTelegramAPI, settings: Settings, clock: ManualClock
) -> None:
    async with running(settings, clock) as first:
        chat = Telegram(fake, first).chat(1001)
        await onboard(first, chat)
        await chat.press(label(first, "menu.new"))
        await chat.say("株式会社ミライ")
        before_restart = await chat.press(label(first, "interview.choice.today"))
    stage_question = before_restart[-1]
    assert label(first, "interview.stage.first") in [b["text"] for b in stage_question.buttons()]

    async with running(settings, clock) as second:
        chat = Telegram(fake, second).chat(1001)
        # The button from before the restart still answers the open question.
        await chat.press(label(second, "interview.stage.final"))
        after = await chat.press(label(second, "controls.skip"))  # the position
        assert label(second, "interview.promise.w2") in [b["text"] for b in after[-1].buttons()]
        # And typing works as well.
        after = await chat.say(label(second, "interview.promise.w1"))
        assert label(second, "interview.method.email") in [b["text"] for b in after[-1].buttons()]
    # Nothing was fetched twice: the first app confirmed what it had taken.
    assert fake.pending_updates == 0


async def test_list_shows_each_interview_with_its_buttons(app: Renraku, aoi: TelegramChat) -> None:
    await register_interview(app, aoi, "株式会社ミライ")
    await register_interview(app, aoi, "合同会社サクラ")
    sent = await aoi.say("/list")
    text = aoi.text(sent)
    assert "株式会社ミライ" in text and "合同会社サクラ" in text
    ids = [i.id for i in await interviews_of(app, aoi.id)]
    data = all_callback_data(sent)
    for interview_id in ids:
        assert f"i:{interview_id}:res" in data and f"i:{interview_id}:del" in data


async def test_another_user_replaying_buttons_is_refused(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, aoi: TelegramChat
) -> None:
    await register_interview(app, aoi, "株式会社ミライ")
    listed = await aoi.say("/list")
    interview = (await interviews_of(app, aoi.id))[0]
    card = next(m for m in listed if f"i:{interview.id}:del" in all_callback_data([m]))
    card_markup = card.reply_markup
    aoi_messages = len(fake.messages(aoi.id))

    mallory = telegram.chat(3003)
    await mallory.say("/start")
    gone = label(app, "errors.interview_gone")
    # Forged data on a message in Mallory's own chat.
    for op in ("delok", "res", "edit"):
        sent = await mallory.press_data(f"i:{interview.id}:{op}")
        assert gone.splitlines()[0] in mallory.text(sent)
    # The press claims to come from the first user's message: the presser decides whose data.
    sent = await mallory.press_data(f"i:{interview.id}:delok", message=card)
    assert gone.splitlines()[0] in mallory.text(sent)

    assert [i.id for i in await interviews_of(app, aoi.id)] == [interview.id]
    assert card.reply_markup == card_markup
    assert len(fake.messages(aoi.id)) == aoi_messages
    assert await interviews_of(app, mallory.id) == []


async def test_stale_and_malformed_buttons_get_a_kind_message(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    stale = label(app, "errors.stale_button").splitlines()[0]
    unexpected = label(app, "errors.unexpected").splitlines()[0]
    for data in ("zz:nonsense", "a:new:stage:first", "i:notanumber:res", "x" * 200, ""):
        sent = await aoi.press_data(data)
        assert sent and stale in aoi.text(sent), data
        assert unexpected not in aoi.text(sent), data
    opened = fake.calls_to("answerCallbackQuery")
    assert len(opened) >= 5 and all(c.status == 200 for c in opened)


async def test_a_redelivered_update_is_handled_once(
    fake: FakeTelegramAPI, telegram: Telegram, aoi: TelegramChat
) -> None:
    before = len(fake.messages(aoi.id))
    update_id = fake.say(aoi.user, "/help")
    telegram.expected += 1
    await telegram.settle()
    after_first = len(fake.messages(aoi.id))
    assert after_first > before

    replay = {
        "message": {
            "message_id": 999,
            "from": aoi.user.to_json(),
            "chat": aoi.user.chat(),
            "date": 0,
            "text": "/help",
        }
    }
    fake.push_update(replay, update_id=update_id)
    telegram.expected += 1
    await telegram.settle()
    assert len(fake.messages(aoi.id)) == after_first


async def test_export_arrives_as_a_document(app: Renraku, aoi: TelegramChat) -> None:
    await register_interview(app, aoi, "株式会社ミライ")
    sent = await aoi.say("/export")
    documents = [m for m in sent if m.document is not None]
    assert len(documents) == 1
    assert documents[0].document is not None
    filename, content = documents[0].document
    assert filename.endswith(".json")
    exported = json.loads(content)
    assert exported["applications"][0]["rounds"][0]["company"] == "株式会社ミライ"


async def test_blocking_the_bot_marks_the_user_inactive(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, aoi: TelegramChat
) -> None:
    fake.block(aoi.user)
    telegram.expected += 1
    await telegram.settle()
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is False


async def test_a_status_update_in_the_chat_gets_no_answer_and_a_caption_does(
    fake: FakeTelegramAPI, telegram: Telegram, aoi: TelegramChat
) -> None:
    help_answer = await aoi.say("/help")
    before = len(fake.messages(aoi.id))
    # Pinning a message in the private chat: a service message, nothing the user said.
    pinned = {
        "message_id": 998,
        "from": aoi.user.to_json(),
        "chat": aoi.user.chat(),
        "date": 0,
        "pinned_message": {
            "message_id": 1,
            "chat": aoi.user.chat(),
            "date": 0,
            "text": "pinned",
        },
    }
    fake.push_update({"message": pinned})
    assert [m.text for m in await aoi.say("/help")] == [m.text for m in help_answer]
    assert len(fake.messages(aoi.id)) == before + len(help_answer)
    # A photo's caption is what the user wrote: it is answered like a text.
    photo = {
        "message_id": 997,
        "from": aoi.user.to_json(),
        "chat": aoi.user.chat(),
        "date": 0,
        "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
        "caption": "/help",
        "caption_entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }
    fake.push_update({"message": photo})
    telegram.expected += 1
    await telegram.settle()
    assert [m.text for m in fake.messages(aoi.id)[-len(help_answer) :]] == [
        m.text for m in help_answer
    ]


async def test_a_reply_goes_out_as_html_without_link_preview_with_its_keyboard(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    sent = await aoi.say("/new")
    call = fake.calls_to("sendMessage")[-1]
    assert call.params["chat_id"] == aoi.id
    assert call.params["parse_mode"] == "HTML"
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert call.params["text"] == sent[-1].raw
    # The question's keyboard (a cancel button), as the user sees it.
    assert [b["text"] for b in sent[-1].callback_buttons()] == [label(app, "controls.cancel")]
