"""The weekly digest's rules: a row of no interview, skipped when late, in the export."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.bootstrap import Renraku, uow_factory
from bot.engine import Engine
from bot.housekeeping import Housekeeping
from bot.reminders import ReminderDispatcher
from handlers import followup
from handlers.context import Context
from handlers.reminder_kinds import Hold
from storage.models import Reminder, ReminderKind, ReminderState
from tests.recording import FakeSleep, RecordingPusher
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps

MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 10:00 JST; the clock starts on Wed 11/25
DIGEST = ReminderKind.DIGEST.value


def _dispatcher(app: Renraku, pusher: RecordingPusher) -> ReminderDispatcher:
    return ReminderDispatcher(
        uow_factory(app.session_factory),
        app.catalog,
        {"console": pusher},
        app.clock,
        app.metrics,
        worker_id="test-worker",
        sleep=FakeSleep(),
    )


async def _digests(app: Renraku) -> list[tuple[str, datetime]]:
    async with app.uow() as uow:
        user = await uow.users.find("console", "u1")
        assert user is not None
        rows = await uow.reminders.for_user(user.id)
        return [(r.state, r.due_at) for r in rows if r.kind == DIGEST]


async def test_the_shared_rules_keep_a_user_row_and_still_stop_an_interview_row(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    await onboard(Chat(engine))
    async with app.uow() as uow:
        user = await uow.users.find("console", "u1")
        assert user is not None
        ctx = Context(uow=uow, user=user, catalog=app.catalog, now=MONDAY, dialogue=None)
        kinds = followup.KINDS
        # No interview is what a digest row is; an interview kind without one stops.
        assert kinds.hold(ctx, None, DIGEST, MONDAY) is None
        assert kinds.hold(ctx, None, ReminderKind.FOLLOWUP.value, MONDAY) is Hold.CANCEL
        # Quiet hours hold it like any kind; a week late it is skipped, not sent.
        night = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
        assert kinds.hold(ctx, None, DIGEST, night) is None
        ctx.now = night
        assert kinds.hold(ctx, None, DIGEST, MONDAY) is Hold.DEFER
        ctx.now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
        assert kinds.hold(ctx, None, DIGEST, MONDAY) is Hold.SKIP
        user.weekly_digest = False
        assert kinds.hold(ctx, None, DIGEST, MONDAY) is Hold.CANCEL
        user.weekly_digest, user.active = True, False
        ctx.now = MONDAY
        assert kinds.hold(ctx, None, DIGEST, MONDAY) is Hold.PAUSE


async def test_a_user_away_for_weeks_gets_no_stale_digest_and_the_next_is_planned(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    chat = Chat(engine)
    await onboard(chat)
    await register_by_taps(chat)
    await Housekeeping(app.uow, clock).plan_digests()
    pusher = RecordingPusher()
    dispatcher = _dispatcher(app, pusher)
    async with app.uow() as uow:
        user = await uow.users.find("console", "u1")
        assert user is not None
        user.active = False
        await uow.reminders.set_paused_for_user(user.id, paused=True)
        await uow.commit()

    clock.set(MONDAY)
    await dispatcher.run_due()
    # Back on Wednesday two weeks later: the digest of 11/30 would be old news.
    clock.set(datetime(2026, 12, 16, 1, 0, tzinfo=UTC))
    await chat.say("/start")
    await dispatcher.run_due()

    assert [p for p in pusher.pushes if "🗓️" in p.text] == []
    assert await _digests(app) == [
        (ReminderState.CANCELLED.value, MONDAY),
        (ReminderState.PENDING.value, datetime(2026, 12, 21, 1, 0, tzinfo=UTC)),
    ]


async def test_export_carries_the_weekly_digest_setting(app: Renraku, engine: Engine) -> None:
    chat = Chat(engine)
    await onboard(chat)

    async def exported() -> object:
        replies = await chat.say("/export")
        document = next(r.document for r in replies if r.document is not None)
        return json.loads(document.content)["user"]["weekly_digest"]

    assert await exported() is True
    await chat.say("/settings")
    await chat.press(app.catalog.text("ja", "settings.change.digest"))
    assert await exported() is False


async def test_a_new_user_gets_one_pending_digest_on_the_next_monday(
    app: Renraku, engine: Engine, clock: ManualClock
) -> None:
    await onboard(Chat(engine))
    housekeeping = Housekeeping(app.uow, clock)

    assert await housekeeping.plan_digests() == 1
    assert await housekeeping.plan_digests() == 0
    assert await _digests(app) == [(ReminderState.PENDING.value, MONDAY)]
    async with app.uow() as uow:
        # A second open row for the same user is refused by the database itself.
        user = await uow.users.find("console", "u1")
        assert user is not None
        extra = Reminder(interview_id=None, user_id=user.id, kind=DIGEST, due_at=MONDAY)
        assert await uow.reminders.add_once(extra) is False
