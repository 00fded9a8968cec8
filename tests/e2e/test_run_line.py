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

from messages.catalog import load_catalog
from tests.channels.line.support import LineUser
from tests.e2e.process import renraku_process, wait_for_reminder_pass, wait_until
from tests.fakes.line_api import (
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    FakeLineApi,
    LineWebhookClient,
    clipboard_actions,
)
from tests.walker import Typed, Walker

USER_ID = "U00000000000000000000000000e2e01"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async def healthy() -> bool:
        if process.returncode is not None:
            raise AssertionError("renraku run exited at start")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until(healthy, "renraku run to become healthy")


@asynccontextmanager
async def renraku_run(fake: FakeLineApi, db: Path) -> AsyncIterator[tuple[LineUser, int]]:
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
        yield LineUser(fake, client, USER_ID), port


async def test_run_registers_by_signed_webhooks_and_pushes_one_follow_up(tmp_path: Path) -> None:
    fake = FakeLineApi()
    await fake.start()
    interview_day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=25)
    db = tmp_path / "renraku.db"
    try:
        async with renraku_run(fake, db) as (user, _):
            assert "Renraku" in "".join(str(m) for m in await user.follow())
            for line in Walker(load_catalog()).onboarding_lines({"name": "応募者A"}):
                await user.say(line)
            # No quiet hours, so the overdue follow-up may go out whatever the time of day.
            await user.say("設定")
            await user.press("夜間の通知停止")
            await user.press("止めない")
            assert "なし" in user.text
            await user.say("面接を記録")
            answers = {
                "company": "株式会社サンプル",
                "date": "日付を入力",
                "date_input": interview_day.isoformat(),
                "stage": "一次面接",
                "promised": "2週間以内",
                "method": "メール",
                "interviewer": "人事部 採用担当",
                "contact": Typed("スキップ"),
                "asked": "いいえ",
                "good": Typed("スキップ"),
                "improve": Typed("スキップ"),
            }
            card = await Walker(load_catalog()).walk(user, answers)
            assert "株式会社サンプル" in card
            await user.press("保存")

            async def pushed() -> bool:
                return bool(fake.accepted_pushes)

            await wait_until(pushed, "the follow-up push")
            await user.say("一覧")
            assert "株式会社サンプル" in user.text
        [push] = fake.accepted_pushes
        assert push.to == USER_ID and push.retry_key
        copies = [a["clipboardText"] for a in clipboard_actions(push.messages)]
        assert len(copies) == 3
        assert any("応募者A" in c and "人事部\n採用ご担当者様" in c for c in copies)
        # Every conversation answer used a reply token; the only push is the reminder.
        assert len(fake.replies) >= 15

        # A restart pushes nothing again: once its dispatcher has finished a whole pass over
        # what was due, no second push has gone out.
        async with renraku_run(fake, db) as (_, port):
            await wait_for_reminder_pass(port)
            assert len(fake.accepted_pushes) == 1
        assert len(fake.accepted_pushes) == 1
    finally:
        await fake.stop()
