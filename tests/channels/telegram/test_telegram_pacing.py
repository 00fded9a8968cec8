"""Only pushes are paced: replies to a crowd go out at once, reminders keep TELEGRAM_PUSH_RATE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Renraku, bootstrap
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError, load_settings
from domain.protocol import Reply
from tests.channels.telegram.support import Telegram, running, telegram_settings
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser
from tests.support import ManualClock

PUSH_RATE = 20.0  # high, so the burst below takes a fraction of a second


@pytest.fixture
async def paced_channel(
    tmp_path: Path, clock: ManualClock, fake: FakeTelegramAPI
) -> AsyncIterator[TelegramChannel]:
    settings = telegram_settings(tmp_path, fake, telegram_push_rate=PUSH_RATE)
    app = await bootstrap(settings, clock=clock, with_channels=False)
    channel = TelegramChannel(app.engine.handle, settings, metrics=app.metrics)
    await channel.start()
    users = [FakeUser(2000 + n) for n in range(8)]
    for user in users:  # Telegram only lets a bot write to users who wrote first.
        fake.say(user, "hello")
    await fake.wait_for(lambda: Telegram(fake, app).handled() >= len(users))
    try:
        yield channel
    finally:
        await channel.stop()
        await app.stop()


async def test_a_burst_of_pushes_keeps_the_push_rate(
    fake: FakeTelegramAPI, paced_channel: TelegramChannel
) -> None:
    before = len(fake.calls_to("sendMessage"))
    await asyncio.gather(
        *(
            paced_channel.push(
                str(2000 + n), [Reply(text=f"リマインダー{n}")], idempotency_key=f"k{n}"
            )
            for n in range(8)
        )
    )
    burst = fake.calls_to("sendMessage")[before:]
    assert len(burst) == 8 and all(c.status == 200 for c in burst)
    span = burst[-1].at - burst[0].at
    # Seven gaps of 1/20 s are 0.35 s; the margin is for the way there, never for a faster pace.
    assert (len(burst) - 1) / span <= PUSH_RATE * 1.25, span
    assert all(fake.last_message(2000 + n).text == f"リマインダー{n}" for n in range(8))


@pytest.fixture
async def slow_push_app(
    tmp_path: Path, clock: ManualClock, fake: FakeTelegramAPI
) -> AsyncIterator[Renraku]:
    # One push a second: a reply held back by it would take half a minute to reach 30 users.
    settings = telegram_settings(tmp_path, fake, telegram_push_rate=1.0)
    async with running(settings, clock) as app:
        yield app


async def test_replies_to_thirty_users_are_not_paced(
    fake: FakeTelegramAPI, slow_push_app: Renraku
) -> None:
    telegram = Telegram(fake, slow_push_app)
    users = [FakeUser(3000 + n) for n in range(30)]
    started = time.monotonic()
    for user in users:
        telegram.expected += 1
        fake.say(user, "/start")
    await telegram.settle(timeout=30.0)
    elapsed = time.monotonic() - started
    assert all(fake.messages(user.id) for user in users)
    sends = len(fake.calls_to("sendMessage"))
    assert sends >= 30
    # Paced at the push rate the replies would take `sends` seconds; unpaced, a few at most.
    assert elapsed < sends / 1.0 / 3, (elapsed, sends)


async def test_a_reply_does_not_wait_behind_pushes(
    fake: FakeTelegramAPI, slow_push_app: Renraku
) -> None:
    telegram = Telegram(fake, slow_push_app)
    pusher = telegram.chat(3100)
    await pusher.say("/start")
    pushes = asyncio.gather(
        *(
            slow_push_app.pushers["telegram"].push(
                str(pusher.id), [Reply(text=f"通知{n}")], idempotency_key=f"p{n}"
            )
            for n in range(4)
        )
    )
    try:
        # Four pushes at one a second take three seconds; the reply is there long before.
        started = time.monotonic()
        answered = await telegram.chat(3101).say("/start")
        assert answered and time.monotonic() - started < 2.0
        assert len([m for m in fake.messages(pusher.id) if m.text.startswith("通知")]) < 4
    finally:
        await pushes


def test_push_rates_are_read_from_the_environment_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_PUSH_RATE", "12.5")
    monkeypatch.setenv("LINE_PUSH_RATE", "40")
    settings = load_settings(_env_file=None)
    assert (settings.telegram_push_rate, settings.line_push_rate) == (12.5, 40.0)
    monkeypatch.setenv("TELEGRAM_PUSH_RATE", "0")
    with pytest.raises(ConfigError, match="TELEGRAM_PUSH_RATE"):
        load_settings(_env_file=None)
