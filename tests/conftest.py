"""Fixtures every test layer shares."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import Renraku, bootstrap
from bot.config import Settings
from bot.engine import Engine
from tests.support import ManualClock, sqlite_settings

# A Wednesday morning in Tokyo (01:00 UTC = 10:00 JST).
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

# Settings must come from the test, never from a developer's .env or shell.
for _name in list(os.environ):
    if _name.startswith(("TELEGRAM_", "LINE_")) or _name in ("DATABASE_URL", "PUBLIC_BASE_URL"):
        del os.environ[_name]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Renraku]:
    """The whole app on a fresh SQLite file, without channels, not started."""
    built = await bootstrap(settings, clock=clock, with_channels=False)
    try:
        yield built
    finally:
        await built.stop()


@pytest.fixture
def engine(app: Renraku) -> Engine:
    return app.engine
