"""Handled event ids are forgotten after a week, and a redelivery inside it stays a no-op."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.housekeeping import Housekeeping
from domain.protocol import Address, Incoming
from handlers import digest
from storage.models import ProcessedEvent, Reminder, ReminderKind, User
from tests.support import ManualClock


async def test_event_ids_older_than_a_week_are_forgotten(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        address = Address("line", "U1")
        await app.engine.handle(Incoming.text_message(address, "/start", event_id="old"))
        clock.advance(days=6)
        await app.engine.handle(Incoming.text_message(address, "/help", event_id="recent"))
        clock.advance(days=1, seconds=1)
        housekeeping = Housekeeping(app.uow, clock)

        assert await housekeeping.forget_old_events() == 1

        async with app.uow() as uow:
            kept = (await uow.session.scalars(select(ProcessedEvent.event_id))).all()
        assert kept == ["recent"]
        # Still inside the window: the redelivery is recognised and answered with nothing.
        again = Incoming.text_message(address, "/help", event_id="recent")
        assert await app.engine.handle(again) == []
        clock.advance(days=7)
        assert await housekeeping.forget_old_events() == 1
    finally:
        await app.stop()


async def test_stop_waits_for_the_sweep_so_nothing_runs_on_after_it(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        await app.engine.handle(
            Incoming.text_message(Address("line", "U1"), "/start", event_id="old")
        )
        clock.advance(days=8)
        housekeeping = Housekeeping(app.uow, clock)
        await housekeeping.start()
        await housekeeping.stop()

        # The first sweep finished before stop returned; nothing is left to touch a database
        # that the app is about to close.
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert [t.get_name() for t in left if not t.done()] == []
        async with app.uow() as uow:
            assert (await uow.session.scalars(select(ProcessedEvent.event_id))).all() == []
    finally:
        await app.stop()


async def test_one_pass_plans_a_digest_for_every_user_who_wants_one_and_only_once(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        for n in range(1, 6):
            await app.engine.handle(Incoming.text_message(Address("line", f"U{n}"), "/start"))
        async with app.uow() as uow:
            wants_none = await uow.users.find("line", "U2")
            has_one = await uow.users.find("line", "U3")
            assert wants_none is not None and has_one is not None
            wants_none.weekly_digest = False
            # Planned by a settings toggle before the pass: the pass must not add another.
            await digest.plan_first(uow, has_one, clock())
            await uow.commit()
        housekeeping = Housekeeping(app.uow, clock)

        assert await housekeeping.plan_digests() == 3
        assert await housekeeping.plan_digests() == 0

        async with app.uow() as uow:
            rows = (
                await uow.session.execute(
                    select(User.external_id, func.count(Reminder.id))
                    .join(Reminder, Reminder.user_id == User.id)
                    .where(Reminder.kind == ReminderKind.DIGEST.value)
                    .group_by(User.external_id)
                )
            ).all()
        assert sorted(rows) == [("U1", 1), ("U3", 1), ("U4", 1), ("U5", 1)]
    finally:
        await app.stop()
