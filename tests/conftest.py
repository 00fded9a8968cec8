"""Fixtures every test layer shares."""

from __future__ import annotations

import asyncio
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


@pytest.fixture(autouse=True)
async def nothing_left_running() -> AsyncIterator[None]:
    """Fail a test that leaves a task behind: a service that does not wait for its own work
    can outlive its database, and at worst hang the shutdown."""
    yield
    here = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not here and not t.done()]
    if left:
        # A task cancelled during teardown (an aiohttp handler, say) may need a moment to end.
        _, pending = await asyncio.wait(left, timeout=2.0)
        left = list(pending)
    assert [t.get_name() + ": " + repr(t.get_coro()) for t in left] == []


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
