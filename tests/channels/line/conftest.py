"""The whole app with LINE enabled, against the fake Messaging API, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Renraku, bootstrap
from bot.config import Settings
from tests.channels.line.support import LineUser
from tests.fakes.line_api import DEFAULT_SECRET, DEFAULT_TOKEN, FakeLineApi, LineWebhookClient
from tests.support import ManualClock, sqlite_settings, start_settled


@pytest.fixture
async def line_api() -> AsyncIterator[FakeLineApi]:
    fake = FakeLineApi()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def line_settings(tmp_path: Path, line_api: FakeLineApi) -> Settings:
    return sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url=line_api.base_url,
    )


@pytest.fixture
async def line_app(line_settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    app = await bootstrap(line_settings, clock=clock)
    await start_settled(app)
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
def webhook(line_app: Renraku) -> LineWebhookClient:
    assert line_app.web is not None and line_app.web.bound_port
    return LineWebhookClient(f"http://127.0.0.1:{line_app.web.bound_port}/webhook/line")


@pytest.fixture
def line_user(line_api: FakeLineApi, webhook: LineWebhookClient) -> LineUser:
    return LineUser(line_api, webhook, "U4af4980629c0d1f2e3a4b5c6d7e8f901")
