"""Over the fake Bot API: a card's calendar button sends a .ics document; /stats a photo."""

from __future__ import annotations

import io

from icalendar import Calendar
from PIL import Image

from bot.bootstrap import Renraku
from tests.channels.telegram.support import TelegramChat, label, register_interview
from tests.fakes.telegram_api import FakeTelegramAPI


async def test_a_cards_calendar_button_sends_an_ics_document(
    app: Renraku, aoi: TelegramChat
) -> None:
    await register_interview(app, aoi, "株式会社カレンダー")
    await aoi.say("/list")
    sent = await aoi.press(label(app, "calendar.button"))
    documents = [m.document for m in sent if m.document is not None]
    assert len(documents) == 1
    filename, content = documents[0]
    assert filename.endswith(".ics")
    [promised, followup] = Calendar.from_ical(content).walk("VEVENT")
    assert "株式会社カレンダー" in str(promised["SUMMARY"])
    assert str(promised["UID"]).endswith("-promised@renraku")
    assert str(followup["UID"]).endswith("-followup@renraku")


async def test_stats_sends_a_photo(app: Renraku, aoi: TelegramChat) -> None:
    await register_interview(app, aoi, "株式会社グラフ")
    sent = await aoi.say("/stats")
    photos = [m for m in sent if m.photo is not None]
    assert len(photos) == 1
    assert photos[0].photo is not None
    with Image.open(io.BytesIO(photos[0].photo)) as picture:
        assert picture.format == "PNG" and picture.width >= 400
    # The numbers come with it, as the caption or as messages before it.
    assert "記録した面接: 1件" in aoi.text(sent)


async def test_stats_without_interviews_is_a_line_not_a_photo(
    app: Renraku, aoi: TelegramChat
) -> None:
    sent = await aoi.say("/stats")
    assert all(m.photo is None for m in sent)
    assert app.catalog.text("ja", "stats.empty") in aoi.text(sent)


async def test_the_command_menu_lists_stats(app: Renraku, fake: FakeTelegramAPI) -> None:
    menus = [call.params["commands"] for call in fake.calls_to("setMyCommands")]
    assert menus and all("stats" in [c["command"] for c in menu] for menu in menus)
