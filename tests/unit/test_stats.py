"""/stats: the user's own numbers, as text and as a chart, and a kind line when there are none."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from PIL import Image
from sqlalchemy import select

from bot.bootstrap import Renraku
from bot.engine import Engine
from domain.protocol import Reply
from handlers import stats_chart
from storage.models import Interview, StatusChange, User
from tests.support import Chat
from tests.unit.test_registration import onboard

# (company, stage, interview day, status, day the answer came or None)
RECORD = [
    ("A社", "first", date(2026, 11, 2), "passed", date(2026, 11, 8)),
    ("Ａ社", "second", date(2026, 11, 12), "rejected", date(2026, 11, 19)),
    ("B社", "first", date(2026, 11, 4), "rejected", date(2026, 11, 8)),
    ("C社", "first", date(2026, 11, 5), "no_response", None),
    ("D社", "final", date(2026, 11, 20), "waiting", None),
    ("E社", "casual", date(2026, 11, 21), "followed_up", None),
]


async def _record(app: Renraku, external_id: str = "u1") -> None:
    async with app.uow() as uow:
        user = (
            await uow.session.scalars(select(User).where(User.external_id == external_id))
        ).one()
        for company, stage, day, status, answered in RECORD:
            interview = Interview(
                user_id=user.id,
                company=company,
                interview_date=day,
                stage=stage,
                promised="weeks:1",
                contact_method="email",
                status=status,
                followups_sent=0,
                muted=False,
                calendar_issued={},
            )
            uow.session.add(interview)
            await uow.session.flush()
            start = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
            uow.session.add(
                StatusChange(interview_id=interview.id, to_status="waiting", changed_at=start)
            )
            if answered is not None:
                # 13:00 UTC is 22:00 in Tokyo: the same local day.
                moment = datetime(answered.year, answered.month, answered.day, 13, tzinfo=UTC)
                uow.session.add(
                    StatusChange(
                        interview_id=interview.id,
                        from_status="waiting",
                        to_status=status,
                        changed_at=moment,
                    )
                )
        await uow.commit()


def _stats_reply(replies: list[Reply]) -> Reply:
    [reply] = [r for r in replies if r.image is not None]
    return reply


async def test_counts_rates_and_average_for_a_few_interviews(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await _record(app)
    await chat.say("/stats")
    text = _stats_reply(chat.last).text
    # A社 and Ａ社 are one company.
    assert "応募した会社: 5社" in text
    assert "記録した面接: 6件" in text
    assert "1. 一次面接: 3件（合格 1・不合格 1・連絡なし 1）" in text
    assert "2. 二次面接: 1件（不合格 1）" in text
    assert "3. 最終面接: 1件（連絡待ち 1）" in text
    assert "4. カジュアル面談: 1件（連絡待ち 1）" in text
    assert "返事あり 3件・連絡なし 1件・連絡待ち 2件" in text
    assert "・一次面接: 50%（2件中 1件）" in text
    assert "・二次面接: 0%（1件中 0件）" in text
    assert "・最終面接: まだ合否が出ていません" in text
    # 6, 7 and 4 days: 5.7 on average.
    assert "返事までの平均: 5.7日" in text


async def test_the_word_works_and_english_reads_naturally(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await _record(app)
    await chat.say("統計")
    assert "応募した会社: 5社" in chat.text
    async with app.uow() as uow:
        user = (await uow.session.scalars(select(User))).one()
        user.locale = "en"
        await uow.commit()
    await chat.say("stats")
    text = _stats_reply(chat.last).text
    assert "Companies applied to: 5" in text
    assert "1. First interview: 3 interviews (passed 1, not passed 1, no answer 1)" in text
    assert "2. Second interview: 1 interview (not passed 1)" in text
    assert "Average time to an answer: 5.7 days" in text


async def test_a_user_with_no_data_gets_a_friendly_line_and_no_chart(engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await chat.say("/stats")
    assert all(r.image is None for r in chat.last)
    assert "まだ統計にできる記録がありません" in chat.text
    assert [c.label for c in chat.choices()] == ["面接を記録", "一覧", "設定", "ヘルプ"]


async def test_the_chart_is_a_png_of_sensible_size(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await _record(app)
    await chat.say("/stats")
    image = _stats_reply(chat.last).image
    assert image is not None and image.mime_type == "image/png"
    assert image.filename.endswith(".png")
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.format == "PNG"
        assert (picture.width, picture.height) == (800, 500)
        # Not a blank canvas: the bars' colours are there.
        colours = {c for _, c in picture.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    assert (46, 160, 67) in colours and (214, 69, 65) in colours
    assert len(image.content) < 1024 * 1024


async def test_without_a_japanese_font_the_text_explains_the_numbered_bars(
    app: Renraku, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_chart, "japanese_font", lambda: None)
    chat = Chat(engine)
    await onboard(chat)
    await _record(app)
    await chat.say("/stats")
    text = _stats_reply(chat.last).text
    assert "グラフの見かた" in text
    assert "緑＝合格" in text and "青＝連絡待ち" in text


async def test_english_labels_are_drawn_and_need_no_key(
    app: Renraku, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_chart, "japanese_font", lambda: None)
    chat = Chat(engine)
    await onboard(chat)
    await _record(app)
    async with app.uow() as uow:
        user = (await uow.session.scalars(select(User))).one()
        user.locale = "en"
        await uow.commit()
    await chat.say("/stats")
    assert "Reading the chart" not in _stats_reply(chat.last).text


async def test_stats_count_only_the_users_own_interviews(app: Renraku, engine: Engine) -> None:
    owner, other = Chat(engine, "u1"), Chat(engine, "u2")
    await onboard(owner)
    await onboard(other, "他人")
    await _record(app, "u1")
    await other.say("/stats")
    assert "まだ統計にできる記録がありません" in other.text
