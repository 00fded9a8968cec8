"""The next round on Telegram: recorded after a pass, prepared for the day before and that
morning, and recorded again once it has taken place; pushed through the real library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from storage.models import Interview, Reminder, ReminderKind
from tests.channels.telegram.support import (
    Talking,
    Telegram,
    TelegramChat,
    interviews_of,
    label,
    onboard,
    register_interview,
)
from tests.fakes.telegram_api import FakeTelegramAPI, Sent
from tests.support import ManualClock
from tests.walker import Walker

COMPANY = "株式会社ミライ"


@pytest.fixture
async def aoi(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1001)
    await onboard(app, chat, "応募者A")
    await register_interview(app, chat, COMPANY)
    return chat


async def _next_round(app: Renraku, chat: TelegramChat, when: str) -> tuple[str, Interview]:
    """合格, then 次の面接を記録 with its time and place; the card's text and the new round."""
    [first] = await interviews_of(app, chat.id)
    sent = await chat.press_data(f"o:{first.id}:pass")
    assert label(app, "outcome.record_next") in [
        b["text"] for m in sent for b in m.callback_buttons()
    ]
    talking = Talking(chat, [])
    await talking.press(label(app, "outcome.record_next"))
    walker = Walker(app.catalog)
    answers = {
        "stage": label(app, "interview.stage.second"),
        "next_at": when,
        "place": "https://meet.example.com/abc",
    }
    card = await walker.walk(talking, answers)
    await talking.press(walker.save)
    rounds = await interviews_of(app, chat.id)
    return card, next(r for r in rounds if r.id != first.id)


async def _reminder(app: Renraku, interview: Interview, kind: ReminderKind) -> Reminder | None:
    async with app.uow() as uow:
        return await uow.session.scalar(
            select(Reminder).where(
                Reminder.interview_id == interview.id, Reminder.kind == kind.value
            )
        )


async def _run_at(app: Renraku, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()


def _text(sent: list[Sent]) -> str:
    return "\n".join(m.text for m in sent)


async def test_a_pass_offers_the_next_round_with_the_known_fields_filled_in(
    app: Renraku, aoi: TelegramChat
) -> None:
    card, round_ = await _next_round(app, aoi, "12/10 14:00")
    assert COMPANY in card and "採用担当" in card and "sato@example.co.jp" in card
    assert "12月10日(木) 14:00" in card
    assert round_.scheduled_at == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)


async def test_the_day_before_a_checklist_names_the_company_and_the_time(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    _, round_ = await _next_round(app, aoi, "12/10 14:00")
    eve = await _reminder(app, round_, ReminderKind.PREP_EVE)
    assert eve is not None
    # The reminder hour (10:00) the day before; 12/9 is a Wednesday, any day would do.
    assert eve.due_at == datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    before = len(fake.messages(aoi.id))
    await _run_at(app, clock, eve.due_at)
    shown = _text(fake.messages(aoi.id)[before:])
    assert COMPANY in shown and "12月10日(木) 14:00" in shown
    assert "https://meet.example.com/abc" in shown
    # The user's own words from the last round, and questions to ask from the pool.
    assert "逆質問をもっと準備したい" in shown
    pool = app.catalog.pool("ja", "pools.questions_to_ask")
    assert 2 <= sum(q in shown for q in pool) <= 3
    assert "ニュース" in shown


async def test_the_morning_line_comes_at_least_two_hours_before(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    _, round_ = await _next_round(app, aoi, "12/10 11:00")
    morning = await _reminder(app, round_, ReminderKind.PREP_MORNING)
    assert morning is not None and round_.scheduled_at is not None
    assert morning.due_at <= round_.scheduled_at - timedelta(hours=2)
    before = len(fake.messages(aoi.id))
    await _run_at(app, clock, morning.due_at)
    pushed = fake.messages(aoi.id)[before:]
    assert len(pushed) == 1 and COMPANY in pushed[0].text
    assert any(line in pushed[0].text for line in app.catalog.pool("ja", "pools.interview_morning"))


async def test_with_a_9_oclock_interview_and_quiet_hours_until_8_no_morning_line(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    # Quiet hours are 22:00-8:00 by default: two hours before 9:00 is still quiet.
    _, round_ = await _next_round(app, aoi, "12/10 9:00")
    assert await _reminder(app, round_, ReminderKind.PREP_MORNING) is None
    assert await _reminder(app, round_, ReminderKind.PREP_EVE) is not None
    before = len(fake.messages(aoi.id))
    await _run_at(app, clock, datetime(2026, 12, 9, 23, 59, tzinfo=UTC))  # 8:59 JST
    assert not [m for m in fake.messages(aoi.id)[before:] if "☀️" in m.text]


async def test_after_the_interview_a_button_opens_the_remaining_questions(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    _, round_ = await _next_round(app, aoi, "12/10 14:00")
    after = await _reminder(app, round_, ReminderKind.ROUND_AFTER)
    assert after is not None and after.due_at == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
    before = len(fake.messages(aoi.id))
    await _run_at(app, clock, after.due_at)
    pushed = fake.messages(aoi.id)[before:]
    button = label(app, "reminders.button.record_round")
    [data] = [
        b["callback_data"] for m in pushed for b in m.callback_buttons() if b["text"] == button
    ]
    sent = await aoi.press_data(data)
    assert Walker(app.catalog).recognise(_text(sent)) == "promised"
