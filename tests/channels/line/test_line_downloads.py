"""On LINE, files arrive as one-time links and charts as images, served by Renraku itself."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from icalendar import Calendar
from PIL import Image
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.config import Settings
from storage.models import Download, Interview
from tests.channels.line.support import LineUser, onboard, register_interview
from tests.channels.telegram.support import free_port
from tests.fakes.line_api import DEFAULT_SECRET, DEFAULT_TOKEN, FakeLineApi
from tests.support import ManualClock, sqlite_settings

LINK = re.compile(r"http://127\.0\.0\.1:\d+/d/[A-Za-z0-9_-]{40,}")


@pytest.fixture
def line_settings(tmp_path: Path, line_api: FakeLineApi) -> Settings:
    port = free_port()
    return sqlite_settings(
        tmp_path,
        line_channel_secret=DEFAULT_SECRET,
        line_channel_access_token=DEFAULT_TOKEN,
        line_api_base_url=line_api.base_url,
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _link(user: LineUser) -> str:
    found = LINK.findall(user.text)
    assert len(found) == 1, user.text
    return str(found[0])


async def _calendar_link(app: Renraku, user: LineUser) -> str:
    await onboard(user)
    await register_interview(user)
    await user.press("一覧")
    async with app.uow() as uow:
        iid = (await uow.session.scalars(select(Interview.id))).one()
    await user.tap(f"c:{iid}")
    return _link(user)


def _kind_page_says(app: Renraku, page: str, key: str) -> None:
    for locale in ("ja", "en"):
        assert app.catalog.text(locale, key) in page, locale


async def test_the_calendar_button_answers_with_a_link_that_works_once(
    line_app: Renraku, line_user: LineUser, http: aiohttp.ClientSession
) -> None:
    link = await _calendar_link(line_app, line_user)
    assert "10分間" in line_user.text

    # The page can be opened (and previewed) again and again; it does not use the link up.
    for _ in range(2):
        async with http.get(link) as page:
            assert page.status == 200
            body = await page.text()
        assert line_app.catalog.text("ja", "downloads.page_button") in body
        assert 'method="post"' in body

    async with http.post(f"{link}/file") as got:
        assert got.status == 200
        assert got.headers["Content-Type"].startswith("text/calendar")
        assert "attachment" in got.headers["Content-Disposition"]
        content = await got.read()
    events = Calendar.from_ical(content).walk("VEVENT")
    assert any(str(e["UID"]).endswith("-promised@renraku") for e in events)

    async with http.post(f"{link}/file") as again:
        assert again.status == 410
        _kind_page_says(line_app, await again.text(), "downloads.used")
    async with http.get(link) as page:
        assert page.status == 410
        _kind_page_says(line_app, await page.text(), "downloads.used")

    # Only a hash of the token is stored.
    token = link.rsplit("/", 1)[1]
    async with line_app.uow() as uow:
        hashes = (await uow.session.scalars(select(Download.token_hash))).all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)


async def test_a_link_used_after_ten_minutes_gets_the_kind_page(
    line_app: Renraku, line_user: LineUser, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    link = await _calendar_link(line_app, line_user)
    clock.advance(minutes=10, seconds=1)
    async with http.get(link) as page:
        assert page.status == 410
        _kind_page_says(line_app, await page.text(), "downloads.expired")
    async with http.post(f"{link}/file") as got:
        assert got.status == 410
        assert "BEGIN:VCALENDAR" not in await got.text()


async def test_an_unknown_link_is_not_found_kindly(
    line_app: Renraku, http: aiohttp.ClientSession
) -> None:
    assert line_app.web is not None
    base = f"http://127.0.0.1:{line_app.web.bound_port}"
    for path in ("/d/not-a-real-token", "/d/" + "x" * 43):
        async with http.get(base + path) as page:
            assert page.status == 404
            _kind_page_says(line_app, await page.text(), "downloads.not_found")
    async with http.post(f"{base}/d/{'y' * 43}/file") as got:
        assert got.status == 404


async def test_export_on_line_is_a_link_to_the_json_file(
    line_app: Renraku, line_user: LineUser, http: aiohttp.ClientSession
) -> None:
    await onboard(line_user)
    await register_interview(line_user, "株式会社エクスポート")
    await line_user.say("/export")
    link = _link(line_user)
    # The data itself is no longer in the chat, only behind the link.
    assert '"renraku-export"' not in line_user.text
    async with http.post(f"{link}/file") as got:
        assert got.status == 200
        payload = json.loads(await got.read())
    assert payload["format"] == "renraku-export"
    assert payload["applications"][0]["rounds"][0]["company"] == "株式会社エクスポート"


async def test_stats_on_line_is_an_image_message_line_can_fetch_for_a_week(
    line_app: Renraku,
    line_user: LineUser,
    line_api: FakeLineApi,
    http: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    await onboard(line_user)
    await register_interview(line_user)
    await line_user.say("統計")
    assert line_api.rejections == []
    [image] = [m for m in line_user.last if m["type"] == "image"]
    assert "記録した面接: 1件" in line_user.text
    original, preview = image["originalContentUrl"], image["previewImageUrl"]
    assert original != preview
    sizes = []
    # LINE fetches when it likes, more than once.
    for url in (original, preview, original):
        async with http.get(url) as got:
            assert got.status == 200
            assert got.headers["Content-Type"] == "image/png"
            with Image.open(io.BytesIO(await got.read())) as picture:
                sizes.append(picture.size)
    assert sizes[0] == (800, 500) and max(sizes[1]) <= 240
    clock.advance(days=7, seconds=1)
    async with http.get(original) as got:
        assert got.status == 410
