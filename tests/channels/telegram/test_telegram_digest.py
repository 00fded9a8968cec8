"""The weekly digest on Telegram: one message on the week's first business day, or none."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.housekeeping import Housekeeping
from storage.models import Interview, Reminder, ReminderKind, ReminderState
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    label,
    onboard,
    register_interview,
)
from tests.fakes.telegram_api import FakeTelegramAPI, Sent
from tests.support import ManualClock

# The test clock starts on Wednesday 2026-11-25 at 10:00 in Tokyo.
MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 10:00 JST, the user's reminder hour
NEXT_MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SUNDAY_NIGHT = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)  # 23:00 JST
# 2026-11-23 is a Monday and 勤労感謝の日: that week's digest comes on the Tuesday.
WEDNESDAY_BEFORE_HOLIDAY = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
HOLIDAY_MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TUESDAY_AFTER = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)

DIGEST_MARK = "🗓️"
FIRST = "株式会社ミライ"  # recorded by the flow: yesterday, two weeks promised (12/8)
SECOND = "株式会社サンプル"  # nothing promised: the two-week guideline, 12/4
CLOSED = "株式会社オワリ"  # already passed: not waiting any more


@pytest.fixture
def telegram(fake: FakeTelegramAPI, app: Renraku) -> Telegram:
    return Telegram(fake, app)


async def _digests(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        rows = await uow.session.scalars(
            select(Reminder)
            .where(Reminder.kind == ReminderKind.DIGEST.value)
            .order_by(Reminder.due_at, Reminder.id)
        )
        return list(rows.all())


async def _add_interview(
    app: Renraku, chat: TelegramChat, company: str, day: date, promised: str, status: str
) -> None:
    async with app.uow() as uow:
        user = await uow.users.find("telegram", str(chat.id))
        assert user is not None
        uow.interviews.add(
            Interview(
                user_id=user.id,
                company=company,
                interview_date=day,
                stage="first",
                promised=promised,
                contact_method="email",
                status=status,
                followups_sent=0,
                muted=False,
            )
        )
        await uow.commit()


async def _housekeeping(app: Renraku, clock: ManualClock) -> int:
    return await Housekeeping(app.uow, clock).plan_digests()


async def _pushed_at(
    app: Renraku, fake: FakeTelegramAPI, chat: TelegramChat, clock: ManualClock, at: datetime
) -> list[Sent]:
    before = len(fake.messages(chat.id))
    clock.set(at)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()
    # Only the digests: the interviews' own reminders (the halfway nudge) come as they would.
    return [m for m in fake.messages(chat.id)[before:] if DIGEST_MARK in m.text]


async def _waiting_user(app: Renraku, telegram: Telegram) -> TelegramChat:
    chat = telegram.chat(1001)
    await onboard(app, chat, "応募者A")
    await register_interview(app, chat, FIRST)
    await _add_interview(app, chat, SECOND, date(2026, 11, 20), "none", "waiting")
    await _add_interview(app, chat, CLOSED, date(2026, 11, 10), "weeks:1", "passed")
    return chat


async def test_the_monday_after_brings_one_digest_with_every_waiting_interview(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    chat = await _waiting_user(app, telegram)
    assert await _housekeeping(app, clock) == 1

    assert await _pushed_at(app, fake, chat, clock, SUNDAY_NIGHT) == []
    [digest] = await _pushed_at(app, fake, chat, clock, MONDAY)

    text = digest.text
    assert FIRST in text and SECOND in text and CLOSED not in text
    # The soonest day first; each with what is left, as it stands on the Monday.
    assert text.index(SECOND) < text.index(FIRST)
    assert "目安（12月4日(金)）まであと4日" in text
    assert "約束の日（12月8日(火)）まであと8日" in text
    # This week's days, and a tip from the digest's own pool.
    assert "12月4日(金) 株式会社サンプルの目安の日" in text
    tips = app.catalog.pool("ja", "pools.digest")
    assert sum(tip in text for tip in tips) == 1
    labels = [b["text"] for b in digest.callback_buttons()]
    assert label(app, "reminders.digest.button.stop") in labels
    # Sent, and the next week's is planned: one a week, not one a day.
    states = [(r.state, r.due_at) for r in await _digests(app)]
    assert states == [
        (ReminderState.SENT.value, MONDAY),
        (ReminderState.PENDING.value, NEXT_MONDAY),
    ]


async def test_running_twice_on_monday_and_housekeeping_again_send_one_digest(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    chat = await _waiting_user(app, telegram)
    await _housekeeping(app, clock)
    await _housekeeping(app, clock)
    assert len(await _digests(app)) == 1

    first = await _pushed_at(app, fake, chat, clock, MONDAY)
    assert await _housekeeping(app, clock) == 0
    again = await _pushed_at(app, fake, chat, clock, MONDAY)
    # Later in the week, nothing more.
    later = await _pushed_at(app, fake, chat, clock, datetime(2026, 12, 3, 1, 0, tzinfo=UTC))

    assert len(first) == 1 and again == [] and later == []
    assert [r.state for r in await _digests(app)] == ["sent", "pending"]


async def test_a_week_with_nothing_waiting_sends_nothing_and_the_next_week_still_comes(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    chat = telegram.chat(1001)
    await onboard(app, chat, "応募者A")
    await _add_interview(app, chat, CLOSED, date(2026, 11, 10), "weeks:1", "passed")
    await _housekeeping(app, clock)

    assert await _pushed_at(app, fake, chat, clock, MONDAY) == []
    rows = await _digests(app)
    assert [(r.state, r.due_at) for r in rows] == [
        (ReminderState.CANCELLED.value, MONDAY),
        (ReminderState.PENDING.value, NEXT_MONDAY),
    ]
    # Something to wait for during the week: the next Monday's digest has it.
    await _add_interview(app, chat, SECOND, date(2026, 12, 2), "weeks:2", "waiting")
    [digest] = await _pushed_at(app, fake, chat, clock, NEXT_MONDAY)
    assert SECOND in digest.text and "あと9日" in digest.text


async def test_turned_off_in_settings_no_digest_comes_and_on_again_it_does(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    chat = await _waiting_user(app, telegram)
    await _housekeeping(app, clock)
    await chat.say("/settings")
    shown = chat.text(await chat.press(label(app, "settings.change.digest")))
    assert label(app, "settings.digest_off") in shown and "週のまとめ: オフ" in shown
    assert [r.state for r in await _digests(app)] == ["cancelled"]

    # Off stays off: the housekeeping pass plans nothing for this user.
    assert await _housekeeping(app, clock) == 0
    assert await _pushed_at(app, fake, chat, clock, MONDAY) == []

    shown = chat.text(await chat.press(label(app, "settings.change.digest")))
    assert "週のまとめ: オン" in shown
    [digest] = await _pushed_at(app, fake, chat, clock, NEXT_MONDAY)
    assert FIRST in digest.text


async def test_the_digest_s_own_stop_button_turns_it_off_however_often_pressed(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    chat = await _waiting_user(app, telegram)
    await _housekeeping(app, clock)
    [digest] = await _pushed_at(app, fake, chat, clock, MONDAY)
    stop = next(
        b["callback_data"]
        for b in digest.callback_buttons()
        if b["text"] == label(app, "reminders.digest.button.stop")
    )

    await chat.press_data(stop, message=digest)
    await chat.press_data(stop, message=digest)

    assert "週のまとめ: オフ" in chat.text(fake.messages(chat.id)[-2:])
    assert [r.state for r in await _digests(app)] == ["sent", "cancelled"]
    assert await _pushed_at(app, fake, chat, clock, NEXT_MONDAY) == []


async def test_when_monday_is_a_holiday_the_digest_comes_on_tuesday(
    app: Renraku, fake: FakeTelegramAPI, telegram: Telegram, clock: ManualClock
) -> None:
    clock.set(WEDNESDAY_BEFORE_HOLIDAY)
    chat = telegram.chat(1001)
    await onboard(app, chat, "応募者A")
    await register_interview(app, chat, FIRST)
    await _housekeeping(app, clock)

    assert [r.due_at for r in await _digests(app)] == [TUESDAY_AFTER]
    assert await _pushed_at(app, fake, chat, clock, HOLIDAY_MONDAY) == []
    [digest] = await _pushed_at(app, fake, chat, clock, TUESDAY_AFTER)
    # Recorded on 11/18 for 11/17 with two weeks promised: 12/1 is a week away.
    assert FIRST in digest.text and "約束の日（12月1日(火)）まであと7日" in digest.text
