"""The app's language on Telegram: the user's app language decides from the very first /start."""

from __future__ import annotations

import pytest

from bot.bootstrap import Renraku
from tests.channels.telegram.support import Talking, Telegram, label, user_row
from tests.walker import Walker


@pytest.mark.parametrize("language_code", ["en", "en-GB", "en-US", "EN"])
async def test_an_english_app_gets_english_from_the_first_start(
    app: Renraku, telegram: Telegram, language_code: str
) -> None:
    chat = telegram.chat(2002, language_code=language_code)
    [sent] = await chat.say("/start")
    # The greeting and the first question arrive as one message, the question's button under it.
    greeting, question = (
        app.catalog.text("en", f"onboarding.{k}") for k in ("greeting", "ask.name")
    )
    assert sent.text == f"{greeting.strip()}\n\n{question.strip()}"
    assert [b["text"] for b in sent.callback_buttons()] == [label(app, "controls.skip", "en")]
    user = await user_row(app, chat.id)
    assert user is not None and user.locale == "en"


@pytest.mark.parametrize("language_code", ["ja", None, "fr"])
async def test_any_other_app_language_gets_japanese(
    app: Renraku, telegram: Telegram, language_code: str | None
) -> None:
    chat = telegram.chat(2003, language_code=language_code)
    [sent] = await chat.say("/start")
    assert sent.text.startswith(app.catalog.text("ja", "onboarding.greeting").strip())
    user = await user_row(app, chat.id)
    assert user is not None and user.locale == "ja"


async def test_an_english_user_onboards_and_records_with_short_words(
    app: Renraku, telegram: Telegram
) -> None:
    chat = telegram.chat(2004, language_code="en-GB")
    await chat.say("/start")
    walker = Walker(app.catalog, locale="en")
    for line in walker.onboarding_lines({"name": "Alex Smith", "email": "alex@example.com"}):
        sent = await chat.say(line)
    assert label(app, "menu.new", "en") in [b["text"] for b in sent[-1].buttons()]
    talking = Talking(chat, [])
    await talking.press(label(app, "menu.new", "en"))
    answers = {
        "company": "Sample KK",
        "date": "Today",
        "stage": "2nd",
        "promised": "2 weeks",
        "method": "mail",
        "applied_via": "through an agent",
        "asked": "no",
    }
    card = await walker.walk(talking, answers, typed=True)
    assert "Round: Second interview" in card
    assert "Contact method: Email" in card
    assert "Applied via: Through an agent" in card
    user = await user_row(app, chat.id)
    assert user is not None and (user.display_name, user.phone, user.email) == (
        "Alex Smith",
        None,
        "alex@example.com",
    )
