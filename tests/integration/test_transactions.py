"""A unit of work left without commit leaves nothing behind, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.config import Settings
from domain.protocol import Address, Incoming
from storage.models import ProcessedEvent, User
from tests.support import ManualClock

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


async def test_uncommitted_unit_of_work_leaves_no_event_and_no_user(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        async with app.uow() as uow:
            assert await uow.events.first_time("line", "ev-crash", NOW)
            await uow.users.get_or_create("line", "U-crash", locale="ja", timezone="Asia/Tokyo")
            # The process dies here: no commit.
        async with app.uow() as uow:
            events = await uow.session.scalar(select(func.count()).select_from(ProcessedEvent))
            users = await uow.session.scalar(select(func.count()).select_from(User))
        assert (events, users) == (0, 0)
    finally:
        await app.stop()


async def test_event_redelivered_after_a_rollback_is_handled(
    db_settings: Settings, clock: ManualClock
) -> None:
    app = await bootstrap(db_settings, clock=clock, with_channels=False)
    try:
        address = Address("line", "U-crash")
        async with app.uow() as uow:
            assert await uow.events.first_time("line", "ev-crash", NOW)
        replies = await app.engine.handle(
            Incoming.text_message(address, "/start", event_id="ev-crash")
        )
        assert replies, "the redelivery was skipped as a duplicate"
        again = await app.engine.handle(
            Incoming.text_message(address, "/start", event_id="ev-crash")
        )
        assert again == []
    finally:
        await app.stop()
