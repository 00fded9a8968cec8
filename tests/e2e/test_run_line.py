"""`renraku run` as a real process with LINE: signed webhooks in, replies only, one push."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from tests.channels.line.support import LineUser
from tests.e2e.process import renraku_process
from tests.fakes.line_api import (
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    FakeLineApi,
    LineWebhookClient,
    clipboard_actions,
)

USER_ID = "U00000000000000000000000000e2e01"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError("renraku run exited at start")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("renraku run never became healthy")


@asynccontextmanager
async def renraku_run(fake: FakeLineApi, db: Path) -> AsyncIterator[LineUser]:
    port = _free_port()
    settings = {
        "LINE_CHANNEL_SECRET": DEFAULT_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": DEFAULT_TOKEN,
        "LINE_API_BASE_URL": fake.base_url,
        "PORT": str(port),
    }

    async def ready(process: asyncio.subprocess.Process) -> None:
        await _wait_healthy(port, process)

    secrets = [DEFAULT_TOKEN, DEFAULT_SECRET, USER_ID, "株式会社サンプル"]
    async with renraku_process(db, settings, ready, secrets):
        client = LineWebhookClient(f"http://127.0.0.1:{port}/webhook/line")
        yield LineUser(fake, client, USER_ID)


async def test_run_registers_by_signed_webhooks_and_pushes_one_follow_up(tmp_path: Path) -> None:
    fake = FakeLineApi()
    await fake.start()
    interview_day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=25)
    db = tmp_path / "renraku.db"
    try:
        async with renraku_run(fake, db) as user:
            assert "Renraku" in "".join(str(m) for m in await user.follow())
            await user.say("応募者A")
            # No quiet hours, so the overdue follow-up may go out whatever the time of day.
            await user.say("設定")
            await user.press("夜間の通知停止")
            await user.press("止めない")
            assert "なし" in user.text
            await user.say("面接を記録")
            await user.say("株式会社サンプル")
            await user.press("日付を入力")
            await user.say(interview_day.isoformat())
            await user.press("一次面接")
            await user.press("2週間以内")
            await user.press("メール")
            await user.say("人事部 採用担当")
            await user.say("スキップ")
            await user.press("いいえ")
            await user.say("スキップ")
            await user.say("スキップ")
            assert "株式会社サンプル" in user.text
            await user.press("保存")
            for _ in range(200):
                if fake.accepted_pushes:
                    break
                await asyncio.sleep(0.1)
            await user.say("一覧")
            assert "株式会社サンプル" in user.text
        [push] = fake.accepted_pushes
        assert push.to == USER_ID and push.retry_key
        copies = [a["clipboardText"] for a in clipboard_actions(push.messages)]
        assert len(copies) == 3
        assert any("応募者A" in c and "人事部 採用担当様" in c for c in copies)
        # Every conversation answer used a reply token; the only push is the reminder.
        assert len(fake.replies) >= 15

        async with renraku_run(fake, db):
            await asyncio.sleep(3)
        assert len(fake.accepted_pushes) == 1
    finally:
        await fake.stop()
