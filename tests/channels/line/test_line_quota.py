"""LINE's monthly push quota: follow-ups first when it runs low, a wait when it is used up."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.bootstrap import Renraku
from domain.protocol import Priority
from storage.models import Reminder, ReminderKind
from tests.channels.line.support import LineUser, line_channel, onboard, register_interview
from tests.fakes.line_api import FakeLineApi, clipboard_actions
from tests.support import ManualClock


async def _reminder(app: Renraku, kind: ReminderKind) -> Reminder:
    async with app.uow() as uow:
        rows = (
            await uow.session.scalars(select(Reminder).where(Reminder.kind == kind.value))
        ).all()
    [row] = rows
    return row


async def _run_at(app: Renraku, clock: ManualClock, reminder: Reminder) -> None:
    clock.set(reminder.due_at)
    assert app.dispatcher is not None
    await app.dispatcher.run_due()


def _sample(app: Renraku, name: str, **labels: str) -> float:
    return app.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def registered(line_app: Renraku, line_user: LineUser) -> LineUser:
    await onboard(line_user, "応募者B")
    await register_interview(line_user, "株式会社サンプル")
    return line_user


async def test_low_quota_holds_the_halfway_nudge_but_sends_the_follow_up(
    line_app: Renraku, line_api: FakeLineApi, registered: LineUser, clock: ManualClock
) -> None:
    line_api.quota_limit, line_api.quota_used = 1000, 950  # 5 % left
    halfway = await _reminder(line_app, ReminderKind.HALFWAY)
    await _run_at(line_app, clock, halfway)
    assert line_api.accepted_pushes == [], "an optional nudge took from a low quota"
    held = await _reminder(line_app, ReminderKind.HALFWAY)
    assert (held.state, held.last_error) == ("cancelled", "LowQuota")
    # Every optional row due by then is held, each counted once: the nudge, and the weekly
    # digest when housekeeping has planned one for a Monday before it.
    async with line_app.uow() as uow:
        held_rows = (
            await uow.session.scalars(select(Reminder).where(Reminder.last_error == "LowQuota"))
        ).all()
    assert {r.kind for r in held_rows} <= {ReminderKind.HALFWAY.value, ReminderKind.DIGEST.value}
    assert ReminderKind.HALFWAY.value in {r.kind for r in held_rows}
    counted = _sample(line_app, "renraku_reminders_total", outcome="held_for_quota")
    assert counted == len(held_rows)

    followup = await _reminder(line_app, ReminderKind.FOLLOWUP)
    await _run_at(line_app, clock, followup)
    [pushed] = line_api.accepted_pushes
    assert clipboard_actions(pushed.messages), "the follow-up's templates did not come"
    assert (await _reminder(line_app, ReminderKind.FOLLOWUP)).state == "sent"


async def test_the_quota_is_read_through_the_sdk_and_cached(
    line_app: Renraku, line_api: FakeLineApi
) -> None:
    channel = line_channel(line_app)
    line_api.quota_limit, line_api.quota_used = 1000, 100
    assert await channel.has_room(Priority.OPTIONAL)
    line_api.quota_used = 990  # within the cache's few minutes, the first reading stands
    assert await channel.has_room(Priority.OPTIONAL)
    assert line_api.quota_reads == 1
    assert await channel.has_room(Priority.ESSENTIAL)


@pytest.mark.parametrize(
    ("limit", "used", "room"),
    [(None, 10_000, True), (1000, 899, True), (1000, 901, False), (200, 160, False)],
)
async def test_low_is_under_ten_percent_or_under_the_reserve(
    line_app: Renraku, line_api: FakeLineApi, limit: int | None, used: int, room: bool
) -> None:
    line_api.quota_limit, line_api.quota_used = limit, used
    # The default reserve is 50 pushes: 40 left of 200 is low although it is 20 %.
    assert await line_channel(line_app).has_room(Priority.OPTIONAL) is room


async def test_a_used_up_quota_is_counted_logged_once_and_the_reminder_waits(
    line_app: Renraku,
    line_api: FakeLineApi,
    registered: LineUser,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    line_api.quota_limit, line_api.quota_used = 500, 500
    followup = await _reminder(line_app, ReminderKind.FOLLOWUP)
    with caplog.at_level(logging.INFO):
        await _run_at(line_app, clock, followup)
        assert [p.status for p in line_api.push_attempts] == [429]
        assert _sample(line_app, "renraku_line_quota_exhausted_total") == 1
        waiting = await _reminder(line_app, ReminderKind.FOLLOWUP)
        assert (waiting.state, waiting.attempts) == ("pending", 0)
        assert waiting.due_at >= clock.now + timedelta(minutes=30)

        await _run_at(line_app, clock, waiting)  # still used up an hour later
        assert _sample(line_app, "renraku_line_quota_exhausted_total") == 2
    quota_logs = [r for r in caplog.records if "quota" in r.getMessage()]
    assert len(quota_logs) == 1, [r.getMessage() for r in quota_logs]
    assert "サンプル" not in caplog.text and registered.user_id not in caplog.text
    assert (await _reminder(line_app, ReminderKind.FOLLOWUP)).state == "pending"

    line_api.quota_limit = 1000  # a new month, or a bigger plan
    await _run_at(line_app, clock, await _reminder(line_app, ReminderKind.FOLLOWUP))
    assert (await _reminder(line_app, ReminderKind.FOLLOWUP)).state == "sent"
    assert len(line_api.accepted_pushes) == 1
