"""Test helpers shared by every layer: a clock the test moves, and app builders."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bootstrap import Renraku
from bot.config import Settings, load_settings
from bot.engine import Engine
from bot.housekeeping import Housekeeping
from domain.protocol import Address, Choice, Incoming, Reply


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    """Poll a condition until it holds; fail with ``what`` once the timeout has passed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        await asyncio.sleep(0.02)


class ManualClock:
    """A clock that only moves when the test says so."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now


def sqlite_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a real SQLite file under the test's own folder, no channel tokens."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'renraku.db'}",
        "telegram_bot_token": None,
        "line_channel_secret": None,
        "line_channel_access_token": None,
        "telegram_webhook_url": None,
        "port": 0,
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


class Chat:
    """One user talking to the engine: send text, press buttons by their label."""

    def __init__(self, engine: Engine, user: str = "u1", channel: str = "console") -> None:
        self.engine = engine
        self.address = Address(channel, user)
        self.last: list[Reply] = []

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.engine.handle(Incoming.text_message(self.address, text))
        return self.last

    async def act(self, action: str) -> list[Reply]:
        self.last = await self.engine.handle(Incoming.button(self.address, action))
        return self.last

    def choices(self) -> list[Choice]:
        return [c for r in self.last for c in r.choices]

    def action_for(self, label: str) -> str:
        matches = [c.action for c in self.choices() if c.label == label]
        if not matches:
            raise AssertionError(f"no button {label!r} in {[c.label for c in self.choices()]}")
        return matches[-1]

    async def press(self, label: str) -> list[Reply]:
        return await self.act(self.action_for(label))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)


async def start_settled(app: Renraku) -> None:
    """Start the app and wait for the pass housekeeping makes at start.

    That pass runs in the background; a test begins once it is over, so what the test does
    next (planning digests itself, counting them) is not raced by it.
    """
    await app.start()
    for service in app.services:
        if isinstance(service, Housekeeping):
            await service.first_pass_done()


def python_without_tokens(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in ``tmp_path`` with no channel tokens and a SQLite file there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # no .env of the checkout's
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
