"""Over the fake Bot API: a card's calendar button sends a .ics document."""

from __future__ import annotations

from icalendar import Calendar

from bot.bootstrap import Renraku
from tests.channels.telegram.support import TelegramChat, label, register_interview


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
