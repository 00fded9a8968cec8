"""A promise of a moment over the real library: the check-in at 15:30 with a call script."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.bootstrap import Renraku
from tests.channels.telegram.support import Telegram, TelegramChat
from tests.channels.telegram.test_telegram_reminders import _plan, _pushed_text, _run_at
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import ManualClock


@pytest.fixture
async def applicant(fake: FakeTelegramAPI, app: Renraku) -> TelegramChat:
    chat = Telegram(fake, app).chat(1004)
    await chat.say("/start")
    await chat.say("応募者A")
    return chat


async def test_the_check_in_comes_half_an_hour_after_the_moment_with_a_call_script(
    app: Renraku, fake: FakeTelegramAPI, applicant: TelegramChat, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 9, 1, 0, tzinfo=UTC))  # Wed 12/9, 10:00 in Tokyo
    await _plan(
        app,
        clock,
        applicant,
        interview_date=date(2026, 12, 9),
        promised="at:2026-12-10T15:00+09:00",
        contact_method="phone",
        interviewer_contact="03-1234-5678",
    )
    before = len(fake.messages(applicant.id))
    # Thu 12/10: nothing at the reminder hour, nor at the promised moment itself.
    for moment in (
        datetime(2026, 12, 10, 1, 0, tzinfo=UTC),
        datetime(2026, 12, 10, 6, 0, tzinfo=UTC),
        datetime(2026, 12, 10, 6, 29, tzinfo=UTC),
    ):
        await _run_at(app, clock, moment)
    assert fake.messages(applicant.id)[before:] == [], "it came before 15:30"

    await _run_at(app, clock, datetime(2026, 12, 10, 6, 30, tzinfo=UTC))  # 15:30 in Tokyo
    pushed = fake.messages(applicant.id)[before:]
    text = _pushed_text(pushed)
    assert "約束の時刻（12月10日(木) 15:00）を過ぎました" in text
    assert "12月10日(木) 15:00までにご連絡をいただけると伺っておりましたが" in text
    assert "電話番号: 03-1234-5678" in text and "応募者A" in text
    # One thing to copy, the phone script (in numbered parts if long): no email this time.
    labels = [str(b["text"]) for m in pushed for b in m.copy_buttons()]
    assert labels and all(label.startswith("📞") for label in labels), labels
    # No claim about a day: neither a promised day that passed nor days since the interview.
    for words in ("約束の日", "面接から", "日が経ち", "メールの件名"):
        assert words not in text, words
    assert any(b["text"] == "後で" for m in pushed for b in m.callback_buttons())
