"""`renraku run` as a real process against the fake Bot API: registration, follow-up, restart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from messages.catalog import load_catalog
from tests.e2e.process import metric, renraku_process, wait_for_reminder_pass, wait_until
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, FakeUser, Sent
from tests.walker import Walker

USER = FakeUser(4242)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def renraku_run(fake: FakeTelegramAPI, db: Path) -> AsyncIterator[Bot]:
    # Ready once this process has set the command menu (an earlier run's calls do not count).
    menus_before = len(fake.calls_to("setMyCommands"))
    port = _free_port()

    async def ready(process: asyncio.subprocess.Process) -> None:
        await fake.wait_for(
            lambda: (
                len(fake.calls_to("setMyCommands")) > menus_before or process.returncode is not None
            ),
            timeout=30,
        )

    settings = {
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_BASE_URL": fake.base_url,
        "PORT": str(port),
    }
    # The token must not reach the logs even at DEBUG, whole or without its bot id.
    secrets = [DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1]]
    async with renraku_process(db, settings, ready, secrets):
        yield Bot(fake, port)


class Tap(str):
    """A button press by its label, as opposed to typed text."""


class Bot:
    """The running process as one user sees it over the fake Bot API.

    A turn is over when the process has counted the update as handled in
    ``renraku_updates_total`` (it counts after its replies are sent), read over /metrics.
    """

    def __init__(self, fake: FakeTelegramAPI, port: int) -> None:
        self.fake, self.port = fake, port
        self.sent_updates = 0
        self.last: list[Sent] = []

    async def turn(self, send: str) -> str:
        """Send, then wait until the bot has answered; the new messages' text."""
        before = len(self.fake.messages(USER.id))
        if isinstance(send, Tap):
            self.fake.press_label(USER, str(send))
        else:
            self.fake.say(USER, str(send))
        self.sent_updates += 1

        async def handled() -> bool:
            done = await metric(self.port, "renraku_updates_total", channel="telegram")
            return done >= self.sent_updates

        await wait_until(handled, "the bot's answer to a turn", timeout=15)
        self.last = self.fake.messages(USER.id)[before:]
        return "\n".join(m.text for m in self.last)

    async def say(self, text: str) -> str:
        return await self.turn(text)

    async def press(self, label: str) -> str:
        return await self.turn(Tap(label))

    def shown(self) -> tuple[str, list[str]]:
        labels = [str(b["text"]) for m in self.last for b in m.callback_buttons()]
        return "\n".join(m.text for m in self.last), labels


async def test_run_walks_a_registration_and_sends_one_overdue_follow_up(tmp_path: Path) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    interview_day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=25)
    walker = Walker(load_catalog())
    try:
        async with renraku_run(fake, tmp_path / "renraku.db") as bot:
            assert "Renraku" in await bot.turn("/start")
            for line in walker.onboarding_lines({"name": "応募者A"}):
                await bot.turn(line)
            # No quiet hours, so the overdue follow-up may go out whatever the time of day.
            await bot.turn("/settings")
            await bot.turn(Tap("夜間の通知停止"))
            assert "夜間の通知停止: なし" in await bot.turn(Tap("止めない"))
            await bot.turn("/new")
            answers = {
                "company": "株式会社サンプル",
                "date": "日付を入力",
                "date_input": interview_day.isoformat(),
                "stage": "一次面接",
                "promised": "2週間以内",
                "method": "メール",
                "interviewer": "人事部 採用担当",
                "contact": "saiyo@example.co.jp",
                "asked": "いいえ",
            }
            card = await walker.walk(bot, answers)
            assert "会社名: 株式会社サンプル" in card
            assert f"面接日: {interview_day.month}月{interview_day.day}日" in card
            assert any("で記録します" in m.text for m in fake.messages(USER.id))
            await bot.turn(Tap("保存"))
            await fake.wait_for(
                lambda: any(m.copy_buttons() for m in fake.messages(USER.id)), timeout=20
            )
            copy_texts = [
                b["copy_text"]["text"] for m in fake.messages(USER.id) for b in m.copy_buttons()
            ]
            assert any(
                "応募者A" in t and "株式会社サンプル" not in t for t in copy_texts
            )  # subject
            listing = await bot.turn("/list")
            assert "株式会社サンプル（一次面接）" in listing
        followups = sum(1 for m in fake.messages(USER.id) if m.copy_buttons())
        assert followups == 1

        # A restart sends nothing again: once its dispatcher has finished a whole pass over
        # what was due, no second follow-up has gone out.
        async with renraku_run(fake, tmp_path / "renraku.db") as bot:
            await wait_for_reminder_pass(bot.port)
            assert sum(1 for m in fake.messages(USER.id) if m.copy_buttons()) == followups
        assert sum(1 for m in fake.messages(USER.id) if m.copy_buttons()) == followups
    finally:
        await fake.stop()
