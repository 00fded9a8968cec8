"""`renraku run` as a real process against the fake Bot API: registration, follow-up, restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.process import renraku_process
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, FakeUser

USER = FakeUser(4242)


@asynccontextmanager
async def renraku_run(fake: FakeTelegramAPI, db: Path) -> AsyncIterator[None]:
    # Ready once this process has set the command menu (an earlier run's calls do not count).
    menus_before = len(fake.calls_to("setMyCommands"))

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
        "PORT": "0",
    }
    # The token must not reach the logs even at DEBUG, whole or without its bot id.
    secrets = [DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1]]
    async with renraku_process(db, settings, ready, secrets):
        yield


async def _turn(fake: FakeTelegramAPI, send: object) -> str:
    """Send, then wait until the bot has answered; the new messages' text."""
    before = len(fake.messages(USER.id))
    if isinstance(send, Tap):
        fake.press_label(USER, str(send))
    else:
        fake.say(USER, str(send))
    await fake.wait_for(lambda: len(fake.messages(USER.id)) > before, timeout=15)
    await asyncio.sleep(0.3)  # let the rest of a multi-message answer arrive
    return "\n".join(m.text for m in fake.messages(USER.id)[before:])


class Tap(str):
    """A button press by its label, as opposed to typed text."""


async def test_run_walks_a_registration_and_sends_one_overdue_follow_up(tmp_path: Path) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    interview_day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=25)
    try:
        async with renraku_run(fake, tmp_path / "renraku.db"):
            assert "Renraku" in await _turn(fake, "/start")
            await _turn(fake, "応募者A")
            # No quiet hours, so the overdue follow-up may go out whatever the time of day.
            await _turn(fake, "/settings")
            await _turn(fake, Tap("夜間の通知停止"))
            assert "夜間の通知停止: なし" in await _turn(fake, Tap("止めない"))
            await _turn(fake, "/new")
            await _turn(fake, "株式会社サンプル")
            await _turn(fake, Tap("日付を入力"))
            assert "で記録します" in await _turn(fake, interview_day.isoformat())
            await _turn(fake, Tap("一次面接"))
            await _turn(fake, Tap("2週間以内"))
            await _turn(fake, Tap("メール"))
            await _turn(fake, "人事部 採用担当")
            await _turn(fake, "saiyo@example.co.jp")
            await _turn(fake, Tap("いいえ"))
            await _turn(fake, Tap("スキップ"))
            card = await _turn(fake, Tap("スキップ"))
            assert "会社名: 株式会社サンプル" in card
            await _turn(fake, Tap("保存"))
            await fake.wait_for(
                lambda: any(m.copy_buttons() for m in fake.messages(USER.id)), timeout=20
            )
            copy_texts = [
                b["copy_text"]["text"] for m in fake.messages(USER.id) for b in m.copy_buttons()
            ]
            assert any(
                "応募者A" in t and "株式会社サンプル" not in t for t in copy_texts
            )  # subject
            listing = await _turn(fake, "/list")
            assert "株式会社サンプル（一次面接）" in listing
        followups = sum(1 for m in fake.messages(USER.id) if m.copy_buttons())
        assert followups == 1

        # A restart sends nothing again.
        async with renraku_run(fake, tmp_path / "renraku.db"):
            await asyncio.sleep(3)
        assert sum(1 for m in fake.messages(USER.id) if m.copy_buttons()) == followups
    finally:
        await fake.stop()
