"""Calendar files: they parse back, keep their UIDs, supersede each other and can cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain.protocol import Document
from storage.models import Interview
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps


@pytest.fixture
async def registered(engine: Engine) -> Chat:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    return chat


def _document(chat: Chat) -> Document:
    documents = [r.document for r in chat.last if r.document is not None]
    assert len(documents) == 1, [r.text for r in chat.last]
    return documents[0]


def _events(document: Document) -> dict[str, Any]:
    assert document.mime_type == "text/calendar"
    assert document.filename.endswith(".ics")
    calendar = Calendar.from_ical(document.content)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


async def _interview_id(app: Renraku) -> int:
    async with app.uow() as uow:
        return int((await uow.session.scalars(select(Interview.id))).one())


async def test_the_save_message_offers_the_file_with_the_promised_day_and_the_check_in(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    iid = await _interview_id(app)
    # The message after saving carries the button.
    await chat.press("カレンダーに追加")
    document = _document(chat)
    calendar = Calendar.from_ical(document.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    events = _events(document)
    promised = events[f"interview-{iid}-promised@renraku"]
    # Two weeks from Wednesday 25 November, as an all-day event.
    assert promised.decoded("DTSTART") == date(2026, 12, 9)
    assert promised.decoded("DTEND") == date(2026, 12, 10)
    assert "株式会社サンプル" in str(promised["SUMMARY"])
    assert "2週間以内" in str(promised["SUMMARY"])
    followup = events[f"interview-{iid}-followup@renraku"]
    # The follow-up check-in at 10:00 in Tokyo on the business day after the promised day,
    # with an alarm.
    assert followup.decoded("DTSTART") == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    assert [a.name for a in followup.subcomponents] == ["VALARM"]
    assert len(events) == 2


async def test_the_card_button_gives_the_same_uids_and_a_higher_sequence_after_an_edit(
    app: Renraku, registered: Chat, clock: ManualClock
) -> None:
    chat = registered
    await chat.say("/list")
    await chat.press("カレンダーに追加")
    first = _events(_document(chat))
    # The same file again, unchanged: the same SEQUENCE.
    await chat.say("/list")
    await chat.press("カレンダーに追加")
    again = _events(_document(chat))
    assert {uid: e["SEQUENCE"] for uid, e in again.items()} == {
        uid: e["SEQUENCE"] for uid, e in first.items()
    }

    clock.advance(hours=1)
    await chat.say("/list")
    await chat.press("編集")
    await chat.press("連絡の期限")
    await chat.press("1週間以内")
    await chat.press("保存")
    await chat.say("/list")
    await chat.press("カレンダーに追加")
    edited = _events(_document(chat))
    assert edited.keys() == first.keys()
    for uid, event in edited.items():
        assert int(event["SEQUENCE"]) > int(first[uid]["SEQUENCE"])
    promised = next(e for uid, e in edited.items() if uid.endswith("-promised@renraku"))
    assert promised.decoded("DTSTART") == date(2026, 12, 2)


async def test_a_result_cancels_the_follow_up_event_in_the_next_file(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    iid = await _interview_id(app)
    await chat.press("カレンダーに追加")
    await chat.say("/list")
    await chat.press("結果が来た")
    await chat.press("合格")
    await chat.say("/list")
    await chat.press("カレンダーに追加")
    events = _events(_document(chat))
    followup = events[f"interview-{iid}-followup@renraku"]
    assert str(followup["STATUS"]) == "CANCELLED"
    assert str(events[f"interview-{iid}-promised@renraku"]["STATUS"]) == "CONFIRMED"


async def test_deleting_offers_a_file_that_cancels_the_events(
    app: Renraku, registered: Chat, clock: ManualClock
) -> None:
    chat = registered
    iid = await _interview_id(app)
    await chat.press("カレンダーに追加")
    issued = _events(_document(chat))
    await chat.say("/list")
    await chat.press("削除")
    await chat.press("削除する")
    assert "削除しました" in chat.text
    cancel = chat.action_for("カレンダーから消す")
    await chat.act(cancel)
    document = _document(chat)
    calendar = Calendar.from_ical(document.content)
    assert str(calendar["METHOD"]) == "CANCEL"
    events = _events(document)
    assert (
        events.keys()
        == issued.keys()
        == {
            f"interview-{iid}-promised@renraku",
            f"interview-{iid}-followup@renraku",
        }
    )
    for uid, event in events.items():
        assert str(event["STATUS"]) == "CANCELLED"
        assert int(event["SEQUENCE"]) > int(issued[uid]["SEQUENCE"])
        assert event.decoded("DTSTART") == issued[uid].decoded("DTSTART")

    # A week later the held file is gone, and the answer says so kindly.
    clock.advance(days=8)
    await chat.act(cancel)
    assert all(r.document is None for r in chat.last)
    assert "もう受け取れません" in chat.text


async def test_an_interview_never_put_in_a_calendar_is_deleted_without_a_cancel_offer(
    registered: Chat,
) -> None:
    chat = registered
    await chat.say("/list")
    await chat.press("削除")
    await chat.press("削除する")
    assert "カレンダーから消す" not in [c.label for c in chat.choices()]


async def test_nobody_gets_another_users_calendar_or_held_file(
    app: Renraku, engine: Engine, registered: Chat
) -> None:
    iid = await _interview_id(app)
    await registered.say("/list")
    await registered.press("カレンダーに追加")
    await registered.say("/list")
    await registered.press("削除")
    await registered.press("削除する")
    held = registered.action_for("カレンダーから消す")
    stranger = Chat(engine, "stranger")
    await onboard(stranger, "他人")
    for action in (f"c:{iid}", held, "c:x:abc", "c:", "c:1:2:3", "c:-1"):
        await stranger.act(action)
        assert all(r.document is None for r in stranger.last), action
        assert stranger.text, action


async def test_nothing_promised_is_named_a_guideline_not_a_promise(
    app: Renraku, registered: Chat
) -> None:
    chat = registered
    await chat.say("/list")
    await chat.press("編集")
    await chat.press("連絡の期限")
    await chat.press("言われていない")
    await chat.press("保存")
    await chat.say("/list")
    await chat.press("カレンダーに追加")
    events = _events(_document(chat))
    promised = next(e for uid, e in events.items() if uid.endswith("-promised@renraku"))
    assert "目安" in str(promised["SUMMARY"])
    assert "期限" not in str(promised["SUMMARY"])
    assert promised.decoded("DTSTART") == date(2026, 11, 25) + timedelta(days=14)
