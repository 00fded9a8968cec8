"""The whole app with Telegram enabled, polling the fake Bot API over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Renraku
from bot.config import Settings
from tests.channels.telegram.support import (
    Telegram,
    TelegramChat,
    onboard,
    running,
    telegram_settings,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import ManualClock


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI()
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTelegramAPI) -> Settings:
    return telegram_settings(tmp_path, fake)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    async with running(settings, clock) as started:
        yield started


@pytest.fixture
def telegram(fake: FakeTelegramAPI, app: Renraku) -> Telegram:
    return Telegram(fake, app)


@pytest.fixture
async def aoi(telegram: Telegram) -> TelegramChat:
    """A user who has said /start and given a name."""
    chat = telegram.chat(1001)
    await onboard(telegram.app, chat, "応募者A")
    return chat
