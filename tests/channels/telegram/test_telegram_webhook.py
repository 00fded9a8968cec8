"""Webhook mode: Telegram posts to /webhook/telegram on the app's own server, with a secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.bootstrap import Renraku
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError, Settings
from handlers import onboarding
from tests.channels.telegram.support import (
    Telegram,
    free_port,
    label,
    running,
    telegram_settings,
    user_row,
)
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser
from tests.support import ManualClock

SECRET = "s3cret-Token_for-tests"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTelegramAPI, port: int) -> Settings:
    return telegram_settings(
        tmp_path,
        fake,
        port=port,
        telegram_webhook_url=f"http://127.0.0.1:{port}/webhook/telegram",
        telegram_webhook_secret=SECRET,
    )


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    async with running(settings, clock) as started:
        yield started


@pytest.fixture
def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def a_start_update(user_id: int) -> dict[str, object]:
    user = FakeUser(user_id)
    return {
        "update_id": 424242,
        "message": {
            "message_id": 1,
            "from": user.to_json(),
            "chat": user.chat(),
            "date": 1_700_000_000,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_start_sets_the_webhook_with_the_secret_and_never_polls(
    fake: FakeTelegramAPI, app: Renraku, url: str
) -> None:
    assert fake.webhook is not None
    assert fake.webhook.url == f"{url}/webhook/telegram"
    assert fake.webhook.secret == SECRET
    assert fake.webhook.allowed_updates == ["message", "callback_query", "my_chat_member"]
    assert fake.calls_to("getUpdates") == []
    assert set(fake.commands) == {"ja", "en", None}


async def test_updates_arrive_by_webhook_and_are_answered(
    fake: FakeTelegramAPI, app: Renraku
) -> None:
    telegram = Telegram(fake, app)
    chat = telegram.chat(1001)
    sent = await chat.say("/start")
    assert "Renraku" in sent[0].text
    # Every onboarding question skipped by its button.
    for _ in onboarding.STEPS:
        sent = await chat.press(label(app, "controls.skip"))
    assert label(app, "menu.new") in [b["text"] for b in sent[-1].buttons()]
    # The bot answers before its 200 goes back, so the last delivery may be counted a moment
    # after its answer has arrived.
    await fake.wait_for(lambda: len(fake.webhook_deliveries) >= 1 + len(onboarding.STEPS))
    assert len(fake.webhook_deliveries) == 1 + len(onboarding.STEPS)
    assert len(fake.answered) == len(onboarding.STEPS)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}, 403),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}, 403),
        ({"X-Telegram-Bot-Api-Secret-Token": ""}, 403),
    ],
)
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    fake: FakeTelegramAPI, app: Renraku, url: str, headers: dict[str, str], status: int
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=json.dumps(a_start_update(5005)),
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status == status
    assert await user_row(app, 5005) is None
    assert fake.calls_to("sendMessage") == []
    rejected = app.metrics.registry.get_sample_value(
        "renraku_webhook_rejected_total", {"channel": "telegram"}
    )
    assert rejected == 1.0
    handled = app.metrics.registry.get_sample_value(
        "renraku_updates_total", {"channel": "telegram"}
    )
    assert not handled


async def test_the_right_secret_is_handled(fake: FakeTelegramAPI, app: Renraku, url: str) -> None:
    fake.say(FakeUser(5005), "hello")  # makes the chat known to the fake, which delivers it too
    telegram = Telegram(fake, app)
    telegram.expected = 1
    await telegram.settle()
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=json.dumps(a_start_update(5005)),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 200
    telegram.expected = 2
    await telegram.settle()
    assert await user_row(app, 5005) is not None


async def test_a_body_that_is_not_an_update_is_a_bad_request(app: Renraku, url: str) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 400


async def test_healthz_and_metrics_share_the_server(app: Renraku, url: str) -> None:
    async with aiohttp.ClientSession() as session:
        health = await session.get(f"{url}/healthz")
        assert health.status == 200
        assert await health.json() == {"status": "ok"}
        metrics = await session.get(f"{url}/metrics")
        assert metrics.status == 200


def test_a_webhook_url_without_a_secret_is_a_configuration_error(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        telegram_settings(
            tmp_path, fake, telegram_webhook_url="https://bot.example.com/webhook/telegram"
        )


async def test_a_stopped_channel_asks_telegram_to_deliver_again(
    fake: FakeTelegramAPI, app: Renraku, url: str
) -> None:
    channel = app.pushers["telegram"]
    assert isinstance(channel, TelegramChannel)
    await channel.stop()
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=json.dumps(a_start_update(5005)),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 503
    # The webhook stays registered for the next instance.
    assert fake.calls_to("deleteWebhook") == []


async def test_an_update_is_handled_before_telegram_gets_its_200(app: Renraku, url: str) -> None:
    """A crash after the 200 must not lose the update, so the 200 comes after the handling."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=json.dumps(a_start_update(6006)),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 200
    user = await user_row(app, 6006)
    assert user is not None and user.onboarded


async def test_a_body_over_the_limit_is_413_not_400(app: Renraku, url: str) -> None:
    huge = b'{"update_id": 1, "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/webhook/telegram",
            data=huge,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 413
