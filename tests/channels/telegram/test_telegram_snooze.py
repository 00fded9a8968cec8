"""後で on a follow-up, over the real library: each choice names its day and comes then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.bootstrap import Renraku
from tests.channels.telegram.support import Telegram, TelegramChat, interviews_of
from tests.channels.telegram.test_telegram_reminders import _plan, _run_at
from tests.fakes.telegram_api import FakeTelegramAPI, Sent
from tests.support import ManualClock


@pytest.fixture
async def applicant(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1003)
    await chat.say("/start")
    await chat.say("応募者A")
    return chat


def _button(sent: list[Sent], label: str) -> tuple[Sent, str]:
    for message in reversed(sent):
        for button in message.callback_buttons():
            if button["text"] == label:
                return message, str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {[m.text for m in sent]}")


def _followups(sent: list[Sent]) -> list[Sent]:
    return [m for m in sent if m.copy_buttons()]


async def _snooze(
    app: Renraku,
    fake: FakeTelegramAPI,
    chat: TelegramChat,
    clock: ManualClock,
    *,
    interview_date: date,
    promised: str,
    followup_at: datetime,
    choice: str,
) -> str:
    """Let the follow-up come at ``followup_at``, tap 後で, then ``choice``; the reply's text."""
    clock.set(datetime.combine(interview_date, datetime.min.time(), UTC) + timedelta(hours=9))
    await _plan(app, clock, chat, promised=promised, interview_date=interview_date)
    before = len(fake.messages(chat.id))
    await _run_at(app, clock, followup_at)
    pushed = fake.messages(chat.id)[before:]
    assert _followups(pushed), "the follow-up did not come"
    message, later = _button(pushed, "後で")
    offered = await chat.press_data(later, message=message)
    assert [b["text"] for m in offered for b in m.callback_buttons()][:3] == [
        "明日",
        "3日後",
        "来週",
    ]
    message, data = _button(offered, choice)
    return chat.text(await chat.press_data(data, message=message))


async def _comes_at(
    app: Renraku, fake: FakeTelegramAPI, chat: TelegramChat, clock: ManualClock, due: datetime
) -> None:
    """Nothing until a minute before ``due``; the follow-up again at ``due``."""
    before = len(fake.messages(chat.id))
    await _run_at(app, clock, due - timedelta(minutes=1))
    assert fake.messages(chat.id)[before:] == [], "it came early"
    await _run_at(app, clock, due)
    again = fake.messages(chat.id)[before:]
    assert _followups(again), "the snoozed follow-up did not come"
    assert "株式会社サンプル" in chat.text(again)
    assert _button(again, "後で")  # and it can be snoozed again


async def test_tomorrow_on_a_friday_is_monday_and_uses_up_no_nudge(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    # Promised by Thu 12/10: the follow-up comes on Fri 12/11 at 10:00.
    said = await _snooze(
        app,
        fake,
        applicant,
        clock,
        interview_date=date(2026, 11, 25),
        promised="date:2026-12-10",
        followup_at=datetime(2026, 12, 11, 1, 0, tzinfo=UTC),
        choice="明日",
    )
    assert "12月14日(月) 10:00 にもう一度お知らせします" in said
    await _comes_at(app, fake, applicant, clock, datetime(2026, 12, 14, 1, 0, tzinfo=UTC))
    [interview] = await interviews_of(app, applicant.id)
    assert interview.followups_sent == 1, "the snoozed repeat counted as a second nudge"


async def test_three_days_from_thursday_lands_on_monday(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    said = await _snooze(
        app,
        fake,
        applicant,
        clock,
        interview_date=date(2026, 11, 25),
        promised="weeks:2",
        followup_at=datetime(2026, 12, 10, 1, 0, tzinfo=UTC),
        choice="3日後",
    )
    assert "12月14日(月) 10:00 にもう一度お知らせします" in said
    await _comes_at(app, fake, applicant, clock, datetime(2026, 12, 14, 1, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("interview_date", "promised", "followup_at", "shown", "due"),
    [
        # The follow-up on Wed 12/16: next week begins on Mon 12/21.
        (
            date(2026, 12, 1),
            "date:2026-12-15",
            datetime(2026, 12, 16, 1, 0, tzinfo=UTC),
            "12月21日(月) 10:00",
            datetime(2026, 12, 21, 1, 0, tzinfo=UTC),
        ),
        # The follow-up on Wed 7/15: Mon 7/20 is 海の日, so Tuesday.
        (
            date(2026, 7, 1),
            "date:2026-07-14",
            datetime(2026, 7, 15, 1, 0, tzinfo=UTC),
            "7月21日(火) 10:00",
            datetime(2026, 7, 21, 1, 0, tzinfo=UTC),
        ),
    ],
)
async def test_next_week_is_its_first_business_day(
    app: Renraku,
    fake: FakeTelegramAPI,
    applicant: TelegramChat,
    clock: ManualClock,
    interview_date: date,
    promised: str,
    followup_at: datetime,
    shown: str,
    due: datetime,
) -> None:
    said = await _snooze(
        app,
        fake,
        applicant,
        clock,
        interview_date=interview_date,
        promised=promised,
        followup_at=followup_at,
        choice="来週",
    )
    assert f"{shown} にもう一度お知らせします" in said
    await _comes_at(app, fake, applicant, clock, due)
