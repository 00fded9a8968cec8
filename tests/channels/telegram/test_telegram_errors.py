"""Rate limits, blocked users, API faults and the token's secrecy, over real HTTP."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Renraku, bootstrap
from bot.channels.telegram import TelegramChannel, TelegramStartError
from bot.config import Settings
from domain.protocol import CopyItem, PermanentFailure, RecipientGone, Reply, RetryLater
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    label,
    onboard,
    register_interview,
    running,
    telegram_settings,
    user_row,
)
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser, blocked, too_many_requests
from tests.support import ManualClock

# PTB itself reads RetryAfter.retry_after the deprecated way when it builds the error.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def bare_channel(
    settings: Settings, clock: ManualClock, fake: FakeTelegramAPI
) -> AsyncIterator[TelegramChannel]:
    """A channel that gives up on the first 429, so running out of retries takes no time."""
    app = await bootstrap(settings, clock=clock, with_channels=False)
    channel = TelegramChannel(app.engine.handle, settings, max_retries=0, metrics=app.metrics)
    await channel.start()
    fake.say(FakeUser(1001), "hello")  # Telegram only lets a bot write to users who wrote first.
    # Answered in full before the test starts, so no answer takes a failure meant for a push.
    await fake.wait_for(lambda: Telegram(fake, app).handled() >= 1)
    fake.chats[1001].clear()
    try:
        yield channel
    finally:
        await channel.stop()
        await app.stop()


async def test_a_429_waits_retry_after_and_sends_again(
    fake: FakeTelegramAPI, telegram: Telegram
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    sent = await telegram.chat(1001).say("/start")
    assert time.monotonic() - started >= 1.0
    assert "Renraku" in sent[0].text
    calls = fake.calls_to("sendMessage")
    assert [c.status for c in calls[:2]] == [429, 200]
    # Sent again only once the second Telegram asked for had passed.
    assert calls[1].at - calls[0].at >= 1.0
    # The first message arrived once, not twice.
    assert [m.text for m in sent].count(sent[0].text) == 1


async def test_429s_are_retried_a_bounded_number_of_times(
    settings: Settings, clock: ManualClock, fake: FakeTelegramAPI
) -> None:
    app = await bootstrap(settings, clock=clock, with_channels=False)
    channel = TelegramChannel(app.engine.handle, settings, max_retries=1, metrics=app.metrics)
    await channel.start()
    try:
        fake.say(FakeUser(1001), "hello")
        await fake.wait_for(lambda: Telegram(fake, app).handled() >= 1)
        before = len(fake.calls_to("sendMessage"))
        limit = too_many_requests(retry_after=1)
        fake.fail("sendMessage", limit.status, limit.description, retry_after=1, times=2)
        with pytest.raises(RetryLater):
            await channel.push("1001", [Reply(text="通知")], idempotency_key="bounded")
        calls = fake.calls_to("sendMessage")[before:]
        # One try and one retry, a second apart; then the dispatcher's turn to retry later.
        assert [c.status for c in calls] == [429, 429]
        assert calls[1].at - calls[0].at >= 1.0
    finally:
        await channel.stop()
        await app.stop()


async def test_a_403_while_replying_marks_the_user_inactive(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    error = blocked()
    fake.fail("sendMessage", error.status, error.description)
    sent = await aoi.say("/help")
    assert sent == []
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is False
    # Writing again brings them back.
    await aoi.say("/help")
    user = await user_row(app, aoi.id)
    assert user is not None and user.active is True


async def test_push_delivers_copy_items_as_copy_buttons_and_code_blocks(
    app: Renraku, fake: FakeTelegramAPI, aoi: TelegramChat
) -> None:
    body = (
        "株式会社ミライ 採用ご担当 採用担当様\n\n"
        + "先日は面接の機会をいただき、ありがとうございました。" * 12
    )
    reply = Reply(
        text="約束の日になりました。",
        copy_items=(
            CopyItem("件名", "選考結果のご連絡について（応募者A）"),
            CopyItem("本文", body),
            CopyItem("電話", "お世話になっております。先日面接を受けました応募者Aと申します。"),
        ),
        choices=(),
    )
    await app.pushers["telegram"].push(str(aoi.id), [reply], idempotency_key="r1")
    sent = fake.last_message(aoi.id)
    copies = [(b["text"], b["copy_text"]["text"]) for b in sent.copy_buttons()]
    assert len(body) > 256
    body_parts = [text for label, text in copies if label.startswith("本文 ")]
    assert copies == [
        ("件名", "選考結果のご連絡について（応募者A）"),
        *((f"本文 {n}/{len(body_parts)}", part) for n, part in enumerate(body_parts, start=1)),
        ("電話", "お世話になっております。先日面接を受けました応募者Aと申します。"),
    ]
    # The body is too long for one copy button: numbered buttons that paste back whole,
    # and a <pre> block, which copies on a tap.
    assert len(body_parts) > 1 and "".join(body_parts) == body
    assert all(1 <= len(text.encode("utf-16-le")) // 2 <= 256 for _, text in copies)
    assert f"<pre>{body}</pre>" in sent.raw
    assert body in sent.text


async def test_push_maps_api_errors_to_delivery_errors(
    fake: FakeTelegramAPI, bare_channel: TelegramChannel
) -> None:
    reply = [Reply(text="リマインダーです。")]
    await bare_channel.push("1001", reply, idempotency_key="ok")

    fake.fail("sendMessage", 403, blocked().description)
    with pytest.raises(RecipientGone):
        await bare_channel.push("1001", reply, idempotency_key="k403")

    limit = too_many_requests(retry_after=7)
    fake.fail("sendMessage", limit.status, limit.description, retry_after=7)
    with pytest.raises(RetryLater) as later:
        await bare_channel.push("1001", reply, idempotency_key="k429")
    assert later.value.retry_after == 7.0

    fake.fail("sendMessage", 502, "Bad Gateway")
    with pytest.raises(RetryLater) as later:
        await bare_channel.push("1001", reply, idempotency_key="k502")
    assert later.value.retry_after is None

    fake.fail("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(PermanentFailure):
        await bare_channel.push("1001", reply, idempotency_key="k400")

    with pytest.raises(PermanentFailure):
        await bare_channel.push("not-a-chat", reply, idempotency_key="kbad")


async def test_a_retried_push_does_not_repeat_what_already_arrived(
    fake: FakeTelegramAPI, bare_channel: TelegramChannel
) -> None:
    replies = [Reply(text="ひとつめ"), Reply(text="ふたつめ")]
    fake.fail("sendMessage", 500, "Internal Server Error", after=1)
    with pytest.raises(RetryLater):
        await bare_channel.push("1001", replies, idempotency_key="twice")
    assert [m.text for m in fake.messages(1001)] == ["ひとつめ"]
    await bare_channel.push("1001", replies, idempotency_key="twice")
    assert [m.text for m in fake.messages(1001)] == ["ひとつめ", "ふたつめ"]


async def test_a_push_before_start_asks_to_retry(settings: Settings, clock: ManualClock) -> None:
    app = await bootstrap(settings, clock=clock)
    try:
        with pytest.raises(RetryLater):
            await app.pushers["telegram"].push("1001", [Reply(text="x")], idempotency_key="k")
    finally:
        await app.stop()


async def test_the_token_never_reaches_a_log_record_or_a_repr(
    caplog: pytest.LogCaptureFixture,
    fake: FakeTelegramAPI,
    settings: Settings,
    clock: ManualClock,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", "httpx", "httpcore", "telegram"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with running(settings, clock) as app:
        chat = Telegram(fake, app).chat(1001)
        await onboard(app, chat)
        await register_interview(app, chat, "株式会社ミライ")
        fake.fail("sendMessage", 500, "Internal Server Error")
        await chat.say("/list")
        fake.fail("getUpdates", 502, "Bad Gateway")
        await chat.say("/help")
        fake.fail("answerCallbackQuery", 400, "Bad Request: query is too old")
        await chat.press(label(app, "menu.help"))
        await app.pushers["telegram"].push("1001", [Reply(text="x")], idempotency_key="k")
        texts = [repr(app), str(app), repr(app.pushers), repr(app.services)]
    # PTB logs each call's endpoint and parameters at DEBUG; the HTTP client logs no URLs.
    assert any(r.name.startswith("telegram") for r in caplog.records), "nothing logged to check"
    assert any(r.levelno >= logging.WARNING for r in caplog.records)
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            texts.append(record.exc_text)
    leaks = [t for t in texts if fake.token in t or fake.token.split(":")[1] in t]
    assert leaks == []


async def test_a_rejected_token_fails_start_without_showing_it(
    tmp_path: Path, fake: FakeTelegramAPI, clock: ManualClock
) -> None:
    wrong = "987654321:AAH" + "Zk3Lm9Qp2Rs8Tu4Vw6Xy0Ab1Cd5Ef7Gh"
    settings = telegram_settings(tmp_path, fake, telegram_bot_token=wrong)
    app = await bootstrap(settings, clock=clock)
    try:
        with pytest.raises(TelegramStartError) as failed:
            await app.start()
    finally:
        await app.stop()
    shown = "".join(traceback.format_exception(failed.value))
    assert "rejected" in shown
    assert wrong not in shown and wrong.split(":")[1] not in shown


async def test_an_unreachable_api_fails_start_cleanly(
    tmp_path: Path, clock: ManualClock, fake: FakeTelegramAPI
) -> None:
    settings = telegram_settings(tmp_path, fake, telegram_base_url="http://127.0.0.1:9/bot")
    app = await bootstrap(settings, clock=clock)
    try:
        with pytest.raises(TelegramStartError) as failed:
            await app.start()
    finally:
        await app.stop()
    assert fake.token not in "".join(traceback.format_exception(failed.value))
