"""Only what is kept is acknowledged: the durable inbox between Telegram and the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.bootstrap import Renraku, bootstrap
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.engine import Engine
from bot.inbox import MAX_ATTEMPTS, DurableInbox
from domain.protocol import Incoming, Reply
from storage.models import InboxEvent, ProcessedEvent
from storage.uow import UnitOfWork
from tests.channels.telegram.support import free_port, running, telegram_settings, user_row
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser
from tests.support import ManualClock, wait_until

SECRET = "s3cret-Token_for-tests"
USER = FakeUser(7007)


class Outage:
    """Every unit of work fails to open while ``down``, as when the database is gone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = False
        opening = UnitOfWork.__aenter__

        async def enter(uow: UnitOfWork) -> UnitOfWork:
            if self.down:
                raise OperationalError("BEGIN", {}, ConnectionRefusedError())
            return await opening(uow)

        monkeypatch.setattr(UnitOfWork, "__aenter__", enter)


@pytest.fixture
def outage(monkeypatch: pytest.MonkeyPatch) -> Outage:
    return Outage(monkeypatch)


@pytest.fixture
def webhook_settings(tmp_path: Path, fake: FakeTelegramAPI) -> Settings:
    port = free_port()
    return telegram_settings(
        tmp_path,
        fake,
        port=port,
        telegram_webhook_url=f"http://127.0.0.1:{port}/webhook/telegram",
        telegram_webhook_secret=SECRET,
    )


@pytest.fixture
async def webhook_app(webhook_settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    async with running(webhook_settings, clock) as started:
        yield started


async def _processed(app: Renraku) -> list[str]:
    async with app.uow() as uow:
        rows = await uow.session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.channel == "telegram")
        )
        return list(rows)


async def _inbox(app: Renraku) -> list[InboxEvent]:
    async with app.uow() as uow:
        return list((await uow.session.scalars(select(InboxEvent))).all())


def _greetings(fake: FakeTelegramAPI) -> int:
    return sum(1 for m in fake.messages(USER.id) if "Renraku" in m.text)


async def test_a_webhook_update_that_cannot_be_kept_is_refused_then_handled_once(
    fake: FakeTelegramAPI, webhook_app: Renraku, outage: Outage
) -> None:
    outage.down = True
    update_id = fake.say(USER, "/start")
    # Telegram keeps delivering while the answer is 5xx.
    await fake.wait_for(lambda: len(fake.webhook_refusals) >= 2)
    assert fake.webhook_deliveries == []
    assert all(status >= 500 for _, status in fake.webhook_refusals)
    assert fake.messages(USER.id) == []

    outage.down = False
    await fake.wait_for(lambda: fake.webhook_deliveries == [update_id])
    await fake.wait_for(lambda: _greetings(fake) == 1)
    assert await _processed(webhook_app) == [f"{fake.bot_id}:{update_id}"]
    assert await user_row(webhook_app, USER.id) is not None

    async def inbox_empty() -> bool:
        return await _inbox(webhook_app) == []

    await wait_until(inbox_empty, "the handled update leaves the inbox", timeout=10)


async def test_a_polled_batch_that_cannot_be_kept_is_not_confirmed_then_handled_once(
    fake: FakeTelegramAPI, app: Renraku, outage: Outage
) -> None:
    await fake.wait_for(lambda: bool(fake.calls_to("getUpdates")))
    outage.down = True
    update_id = fake.say(USER, "/start")
    polls = len(fake.calls_to("getUpdates"))
    # The batch is fetched again and again with the same offset: nothing was confirmed.
    await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) >= polls + 2)
    assert fake.pending_updates == 1
    assert fake.messages(USER.id) == []

    outage.down = False
    await fake.wait_for(lambda: _greetings(fake) == 1, timeout=10)
    await fake.wait_for(lambda: fake.pending_updates == 0)
    assert await _processed(app) == [f"{fake.bot_id}:{update_id}"]

    # The row is let go once the answer has been sent, which is just after the fake saw it.
    async def inbox_empty() -> bool:
        return await _inbox(app) == []

    await wait_until(inbox_empty, "the handled update leaves the inbox", timeout=10)


async def test_an_update_whose_handler_keeps_failing_is_retried_then_set_aside(
    fake: FakeTelegramAPI,
    webhook_settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[Incoming] = []

    async def failing(_engine: Engine, incoming: Incoming) -> list[Reply]:
        calls.append(incoming)
        raise RuntimeError("the handler broke")

    monkeypatch.setattr(Engine, "handle", failing)
    async with running(webhook_settings, clock) as app:
        channel = app.pushers["telegram"]
        assert isinstance(channel, TelegramChannel)
        update_id = fake.say(USER, "private words")
        # Kept, so acknowledged, even though handling failed.
        await fake.wait_for(lambda: fake.webhook_deliveries == [update_id])
        assert fake.webhook_refusals == [] and len(calls) == 1

        for attempt in range(1, MAX_ATTEMPTS + 1):
            clock.advance(seconds=61)
            assert await channel.recover() == 1
            assert len(calls) == 1 + attempt
        clock.advance(seconds=61)
        assert await channel.recover() == 0
        clock.advance(days=1)
        assert await channel.recover() == 0
        assert len(calls) == 1 + MAX_ATTEMPTS

        [row] = await _inbox(app)
        assert row.set_aside_at is not None and row.event_id == f"{fake.bot_id}:{update_id}"
        counted = app.metrics.registry.get_sample_value(
            "renraku_inbox_set_aside_total", {"channel": "telegram"}
        )
        assert counted == 1.0
    assert "set aside" in caplog.text and "private words" not in caplog.text


async def test_a_handled_update_leaves_the_inbox_when_the_channel_stops(
    fake: FakeTelegramAPI, settings: Settings, clock: ManualClock
) -> None:
    async with running(settings, clock) as app:
        fake.say(USER, "/start")
        await fake.wait_for(lambda: _greetings(fake) == 1)
        await fake.wait_for(lambda: fake.pending_updates == 0)
    # Stopped at once after the answer: the delete waiting for the next batch was not lost.
    app = await bootstrap(settings, clock=clock)
    try:
        assert await _inbox(app) == []
    finally:
        await app.stop()


async def test_a_crash_before_the_handled_rows_are_deleted_answers_nobody_twice(
    fake: FakeTelegramAPI,
    settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def crashed(_inbox: DurableInbox, _ids: object, *_args: object) -> None:
        """The process dies before its handled rows are deleted."""

    with monkeypatch.context() as patched:
        patched.setattr(DurableInbox, "done_many", crashed)
        patched.setattr(TelegramChannel, "_take_finished", lambda _channel: [])
        async with running(settings, clock) as app:
            fake.say(USER, "/start")
            await fake.wait_for(lambda: _greetings(fake) == 1)
            await fake.wait_for(lambda: fake.pending_updates == 0)
        left = await _inbox(app)
        assert len(left) == 1
    # The next process takes the row up again, and the engine knows the update by its id.
    clock.advance(seconds=5)
    async with running(settings, clock) as app:

        async def inbox_empty() -> bool:
            return await _inbox(app) == []

        await wait_until(inbox_empty, "the recovered update leaves the inbox", timeout=10)
        assert _greetings(fake) == 1
        assert len(fake.messages(USER.id)) == 1
