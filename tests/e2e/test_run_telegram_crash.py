"""`renraku run` polling the fake Bot API, killed with SIGKILL the moment a burst is confirmed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.e2e.process import RENRAKU, renraku_process
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, FakeUser

USER = FakeUser(4343)
BURST = 20
SETTINGS = {"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "PORT": "0"}
SECRETS = [DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1]]


def _env(fake: FakeTelegramAPI, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    return env | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "LOG_LEVEL": "DEBUG",
        "TELEGRAM_BASE_URL": fake.base_url,
        **SETTINGS,
    }


async def _polling(fake: FakeTelegramAPI, process: asyncio.subprocess.Process) -> None:
    """Wait until this process polls (an earlier run's calls do not count)."""
    polls_before = len(fake.calls_to("getUpdates"))
    await fake.wait_for(
        lambda: len(fake.calls_to("getUpdates")) > polls_before or process.returncode is not None,
        timeout=30,
    )
    assert process.returncode is None, "renraku run exited at start"


@asynccontextmanager
async def _doomed_run(fake: FakeTelegramAPI, db: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A run that the test kills; its output is drained so a full pipe never stalls it."""
    process = await asyncio.create_subprocess_exec(
        RENRAKU,
        "run",
        env=_env(fake, db),
        cwd=db.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _polling(fake, process)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), timeout=30)


def _handled(db: Path, update_ids: list[int]) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT event_id FROM processed_events WHERE channel = 'telegram'"
        ).fetchall()
    wanted = {f"{fake_bot_id()}:{u}" for u in update_ids}
    return [row[0] for row in rows if row[0] in wanted]


def fake_bot_id() -> int:
    return int(DEFAULT_TOKEN.split(":", 1)[0])


async def test_a_kill_right_after_a_burst_is_confirmed_loses_none_of_it(tmp_path: Path) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    db = tmp_path / "renraku.db"
    try:
        async with _doomed_run(fake, db) as process:
            # One answer first, to learn how many messages a /help brings.
            first = fake.say(USER, "/help")
            await fake.wait_for(lambda: _handled(db, [first]) != [], timeout=15)
            await fake.wait_for(lambda: bool(fake.messages(USER.id)), timeout=15)
            per_help = len(fake.messages(USER.id))
            before = len(fake.messages(USER.id))

            burst = [fake.say(USER, "/help") for _ in range(BURST)]

            def kill_on_confirm(offset: int) -> None:
                if offset > burst[-1] and process.returncode is None:
                    process.kill()

            fake.on_confirm = kill_on_confirm
            await asyncio.wait_for(process.wait(), timeout=30)
            fake.on_confirm = None
        assert fake.pending_updates == 0, "Telegram would not deliver the burst again"

        async def ready(process: asyncio.subprocess.Process) -> None:
            await _polling(fake, process)

        async with renraku_process(db, {"TELEGRAM_BASE_URL": fake.base_url, **SETTINGS}, ready,
                                   SECRETS):  # fmt: skip
            with contextlib.suppress(AssertionError):
                await fake.wait_for(
                    lambda: len(fake.messages(USER.id)) - before >= BURST * per_help, timeout=20
                )
        handled = _handled(db, burst)
        assert len(handled) == BURST, f"{BURST - len(handled)} of {BURST} answers lost"
        assert len(fake.messages(USER.id)) - before == BURST * per_help
    finally:
        await fake.stop()
