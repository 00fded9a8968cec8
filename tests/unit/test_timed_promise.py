"""A promise of a moment (明日15時までにお電話します): parsed, stored, shown, checked in on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain import calendar
from domain.calendar import PeriodUnit, PromisedPeriod
from domain.parsing import parse_period
from storage.models import Interview, Reminder
from tests.support import Chat
from tests.unit.test_registration import onboard
from tests.walker import EngineChat, Walker

TOKYO = ZoneInfo("Asia/Tokyo")
WED = date(2026, 12, 9)


def _at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("明日15時までにお電話します", _at(2026, 12, 10, 15)),
        ("12/10 15時", _at(2026, 12, 10, 15)),
        ("12月10日15:00", _at(2026, 12, 10, 15)),
        ("１２月１０日１５：００まで", _at(2026, 12, 10, 15)),
        ("明日の15時", _at(2026, 12, 10, 15)),
        ("明日の午後3時半までにご連絡します", _at(2026, 12, 10, 15, 30)),
        ("12/11 10時頃", _at(2026, 12, 11, 10)),
        ("15時までに", _at(2026, 12, 9, 15)),
        ("by 3pm tomorrow", _at(2026, 12, 10, 15)),
        ("Dec 10 at 3:30 pm", _at(2026, 12, 10, 15, 30)),
    ],
)
def test_a_moment_is_read_on_the_users_clock(typed: str, moment: datetime) -> None:
    period = parse_period(typed, WED, "Asia/Tokyo")
    assert period == PromisedPeriod(PeriodUnit.AT, at=moment)
    assert period is not None and period.at is not None
    assert period.at.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    "typed", ["12/10 25時", "明日の15時70分", "午後13時", "明後々日15時", "15時に会議"]
)
def test_a_time_that_is_no_moment_is_refused(typed: str) -> None:
    assert parse_period(typed, WED, "Asia/Tokyo") is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("2週間以内", "weeks:2"), ("12/10まで", "date:2026-12-10"), ("5営業日", "bdays:5")],
)
def test_promises_of_a_day_read_as_before(typed: str, stored: str) -> None:
    period = parse_period(typed, WED, "Asia/Tokyo")
    assert period is not None and period.to_storage() == stored


def test_a_moment_is_stored_with_its_zone_and_read_back() -> None:
    period = PromisedPeriod(PeriodUnit.AT, at=_at(2026, 12, 10, 15))
    assert period.to_storage() == "at:2026-12-10T15:00+09:00"
    assert PromisedPeriod.from_storage("at:2026-12-10T15:00+09:00") == period
    assert calendar.promised_day(date(2026, 12, 1), period) == date(2026, 12, 10)
    with pytest.raises(ValueError):
        PromisedPeriod(PeriodUnit.AT)
    with pytest.raises(ValueError):
        PromisedPeriod(PeriodUnit.AT, at=datetime(2026, 12, 10, 15))  # naive
    with pytest.raises(ValueError):
        PromisedPeriod.from_storage("at:2026-12-10T15:00")


@pytest.mark.parametrize(
    ("promised", "checkin"),
    [
        # In office hours: half an hour later, the same day.
        (_at(2026, 12, 10, 15), _at(2026, 12, 10, 15, 30)),
        # 18:15 is past office hours: the next business day's reminder hour.
        (_at(2026, 12, 10, 17, 45), _at(2026, 12, 11, 10)),
        # Friday 18:00: Monday.
        (_at(2026, 12, 11, 18), _at(2026, 12, 14, 10)),
        # Before the office opens on a business day: that day's reminder hour.
        (_at(2026, 12, 10, 8), _at(2026, 12, 10, 10)),
        # A Saturday moment, and one before a holiday Monday (7/20 海の日): the next business day.
        (_at(2026, 12, 12, 12), _at(2026, 12, 14, 10)),
        (_at(2026, 7, 17, 17, 45), _at(2026, 7, 21, 10)),
    ],
)
def test_the_check_in_comes_half_an_hour_later_in_office_hours(
    promised: datetime, checkin: datetime
) -> None:
    assert calendar.timed_checkin(promised, "Asia/Tokyo", 10, 22, 8) == checkin


async def test_typed_moment_on_the_card_and_planned_half_an_hour_later(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)  # the clock stands at Wed 11/25 10:00 in Tokyo
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル商事")
    await chat.press("今日")
    await chat.say("二次面接")
    await chat.say("スキップ")  # the position
    await chat.say("明日15時までにお電話します")
    assert "「11月26日(木) 15:00まで」ですね" in chat.text
    await chat.say("電話")
    await Walker(engine.catalog).walk(EngineChat(chat), {}, typed=True)
    card = chat.text
    assert "11月26日(木) 15:00まで" in card and "約束の日:" not in card
    await chat.say("保存")
    async with app.uow() as uow:
        [interview] = (await uow.session.scalars(select(Interview))).all()
        reminders = (await uow.session.scalars(select(Reminder))).all()
    assert interview.promised == "at:2026-11-26T15:00+09:00"
    # 15:30 in Tokyo, not the next business day's 10:00.
    assert [(r.kind, r.due_at) for r in reminders] == [
        ("followup", datetime(2026, 11, 26, 6, 30, tzinfo=UTC))
    ]


async def test_a_moment_before_the_interview_is_refused_kindly(
    app: Renraku, engine: Engine
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/new")
    await chat.say("サンプル商事")
    await chat.press("今日")
    await chat.say("二次面接")
    await chat.say("スキップ")
    await chat.say("昨日の15時")
    assert chat.text and "15:00" not in chat.text
    await chat.say("今日の17時までに")
    assert "「11月25日(水) 17:00まで」ですね" in chat.text
