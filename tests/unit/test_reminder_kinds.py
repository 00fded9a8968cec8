"""A reminder kind is one registry entry: register it, and the dispatcher sends it as it says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.bootstrap import Renraku, uow_factory
from bot.reminders import ReminderDispatcher
from domain.protocol import Reply
from handlers import followup
from handlers.context import Context
from handlers.reminder_kinds import ReminderKinds, ReminderKindSpec
from storage.models import Interview, Reminder
from tests.recording import FakeSleep, RecordingPusher
from tests.support import ManualClock

COMPANY = "株式会社サンプル"
SATURDAY = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)  # 10:00 JST
MONDAY = datetime(2026, 12, 14, 1, 0, tzinfo=UTC)  # 10:00 JST, the next business day


async def _seed(app: Renraku, kind: str, due: datetime) -> tuple[int, int]:
    async with app.uow() as uow:
        user = await uow.users.get_or_create("console", "u1", locale="ja", timezone="Asia/Tokyo")
        user.onboarded = True
        interview = Interview(
            user_id=user.id,
            company=COMPANY,
            interview_date=date(2026, 11, 25),
            stage="first",
            promised="weeks:2",
            contact_method="email",
            status="waiting",
            followups_sent=0,
            muted=False,
        )
        uow.interviews.add(interview)
        await uow.interviews.flush()
        reminder = Reminder(
            interview_id=interview.id, user_id=user.id, kind=kind, due_at=due, attempts=0
        )
        uow.reminders.add(reminder)
        await uow.interviews.flush()
        await uow.commit()
        return interview.id, reminder.id


def _dispatcher(app: Renraku, kinds: ReminderKinds, pusher: RecordingPusher) -> ReminderDispatcher:
    return ReminderDispatcher(
        uow_factory(app.session_factory),
        app.catalog,
        {"console": pusher},
        app.clock,
        app.metrics,
        worker_id="test-worker",
        kinds=kinds,
        sleep=FakeSleep(),
    )


async def _row(app: Renraku, rid: int) -> Reminder:
    async with app.uow() as uow:
        found = await uow.session.get(Reminder, rid)
        assert found is not None
        return found


async def _interview(app: Renraku, iid: int) -> Interview:
    async with app.uow() as uow:
        found = await uow.session.get(Interview, iid)
        assert found is not None
        return found


async def test_a_registered_kind_is_dispatched_composed_and_followed_up(
    app: Renraku, clock: ManualClock
) -> None:
    followed: list[int] = []

    async def compose(ctx: Context, interview: Interview) -> list[Reply]:
        return [ctx.reply(ctx.t("reminders.action.muted", company=interview.company))]

    async def after_sent(ctx: Context, interview: Interview) -> None:
        followed.append(interview.id)

    kinds = followup.KINDS.with_kind(
        ReminderKindSpec(
            kind="custom", compose=compose, after_sent=after_sent, counts_as_nudge=True
        )
    )
    iid, rid = await _seed(app, "custom", clock.now)
    pusher = RecordingPusher()

    assert await _dispatcher(app, kinds, pusher).run_due() == 1

    [push] = pusher.pushes
    assert COMPANY in push.text
    assert (await _row(app, rid)).state == "sent"
    assert followed == [iid]
    # It counts as a follow-up nudge, so the at-most-two rule sees it.
    assert (await _interview(app, iid)).followups_sent == 1
    passes = app.metrics.registry.get_sample_value("renraku_reminder_passes_total")
    assert passes == 1
    # The shared registry is untouched.
    assert "custom" not in followup.KINDS.specs


async def test_a_business_days_kind_due_on_a_saturday_waits_for_monday(
    app: Renraku, clock: ManualClock
) -> None:
    async def compose(ctx: Context, interview: Interview) -> list[Reply]:
        return [ctx.reply(interview.company)]

    kinds = followup.KINDS.with_kind(
        ReminderKindSpec(kind="weekday", compose=compose, business_days_only=True)
    )
    _, rid = await _seed(app, "weekday", SATURDAY)
    clock.set(SATURDAY)
    pusher = RecordingPusher()
    dispatcher = _dispatcher(app, kinds, pusher)

    assert await dispatcher.run_due() == 0
    held = await _row(app, rid)
    assert (held.state, held.due_at) == ("pending", MONDAY)
    clock.set(MONDAY)
    assert await dispatcher.run_due() == 1
    assert len(pusher.pushes) == 1


async def test_a_kind_held_up_past_its_usefulness_is_dropped(
    app: Renraku, clock: ManualClock
) -> None:
    async def compose(ctx: Context, interview: Interview) -> list[Reply]:
        return [ctx.reply(interview.company)]

    def stale_from(ctx: Context, interview: Interview, due_at: datetime) -> date:
        return ctx.today if due_at < ctx.now - timedelta(days=1) else date.max

    kinds = followup.KINDS.with_kind(
        ReminderKindSpec(kind="today_only", compose=compose, stale_from=stale_from)
    )
    _, rid = await _seed(app, "today_only", clock.now)
    clock.advance(days=2)
    pusher = RecordingPusher()

    assert await _dispatcher(app, kinds, pusher).run_due() == 0
    assert (await _row(app, rid)).state == "cancelled"
    assert pusher.pushes == []


async def test_a_kind_this_process_does_not_know_is_left_for_a_later_try(
    app: Renraku, clock: ManualClock
) -> None:
    _, rid = await _seed(app, "from_newer", clock.now)
    pusher = RecordingPusher()

    assert await _dispatcher(app, followup.KINDS, pusher).run_due() == 0
    row = await _row(app, rid)
    # Not cancelled: a worker of the release that wrote it can still send it.
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.due_at > clock.now
    assert pusher.pushes == []
