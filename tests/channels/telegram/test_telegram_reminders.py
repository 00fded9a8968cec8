"""The promised day on Telegram: the reminder dispatcher pushes through the real library."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from storage.models import Reminder, ReminderKind, ReminderState
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    onboard,
    register_interview,
    user_row,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import ManualClock


@pytest.fixture
async def aoi(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1001)
    await onboard(app, chat, "応募者A")
    await register_interview(app, chat, "株式会社ミライ")
    return chat


async def _reminders(app: Renraku) -> list[Reminder]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.due_at))).all())


async def _followup_day(app: Renraku, clock: ManualClock) -> Reminder:
    followup = next(r for r in await _reminders(app) if r.kind == ReminderKind.FOLLOWUP.value)
    clock.set(followup.due_at)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()
    return followup


async def test_the_promised_day_brings_copy_buttons_and_code_blocks(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)

    pushed = fake.messages(aoi.id)[before:]
    copies = [b["copy_text"]["text"] for m in pushed for b in m.copy_buttons()]
    assert copies, [m.text for m in pushed]
    assert all(1 <= len(text.encode("utf-16-le")) // 2 <= 256 for text in copies)
    shown = "\n".join(m.text for m in pushed)
    assert "株式会社ミライ" in shown and "応募者A" in shown
    # Whatever was too long for a button is a code block, which copies on a tap.
    long_blocks = [m for m in pushed if "<pre>" in m.raw]
    assert long_blocks or all(len(c) <= 256 for c in copies)
    data = [b["callback_data"] for m in pushed for b in m.callback_buttons()]
    assert data and all(1 <= len(d.encode()) <= 64 for d in data)
    sent = {r.kind: r.state for r in await _reminders(app)}
    assert sent[ReminderKind.FOLLOWUP.value] == ReminderState.SENT.value


async def test_pressing_a_reminder_button_keeps_its_copy_buttons(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    before = len(fake.messages(aoi.id))
    await _followup_day(app, clock)
    pushed = fake.messages(aoi.id)[before:]
    with_both = [m for m in pushed if m.copy_buttons() and m.callback_buttons()]
    target = with_both[-1] if with_both else next(m for m in pushed if m.callback_buttons())
    copy_buttons = target.copy_buttons()
    await aoi.press_data(target.callback_buttons()[0]["callback_data"], message=target)
    assert target.callback_buttons() == []
    assert target.copy_buttons() == copy_buttons


async def test_a_user_who_blocked_the_bot_gets_no_more_pushes(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat, clock: ManualClock
) -> None:
    fake.blocked_users.add(aoi.id)  # blocked without Telegram telling the bot yet
    await _followup_day(app, clock)
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is False
    states = {r.kind: r.state for r in await _reminders(app)}
    assert states[ReminderKind.FOLLOWUP.value] != ReminderState.SENT.value
