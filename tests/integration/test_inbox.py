"""The durable inbox on both databases: put, finish, and taking up what a dead process left."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.inbox import MAX_ATTEMPTS, DurableInbox
from bot.web import Metrics
from domain.protocol import Address, Incoming
from storage.db import create_engine, create_session_factory
from storage.models import InboxEvent
from storage.uow import UnitOfWork
from tests.support import ManualClock


@pytest.fixture
async def inbox(db_url: str, clock: ManualClock) -> AsyncIterator[DurableInbox]:
    engine = create_engine(db_url)
    factory = create_session_factory(engine)
    yield DurableInbox(lambda: UnitOfWork(factory), clock)
    await engine.dispose()


def _event(n: int, text: str = "/start") -> Incoming:
    return Incoming.text_message(Address("line", f"U{n}"), text, event_id=f"ev-{n}")


async def test_put_keeps_events_and_a_redelivery_while_waiting_is_left_out(
    inbox: DurableInbox,
) -> None:
    first = await inbox.put([(_event(1), "token-1"), (_event(2), None)])
    again = await inbox.put([(_event(1), "token-1b")])
    assert [r.incoming for r in first] == [_event(1), _event(2)]
    assert first[0].reply_to == "token-1"
    assert again == []


async def test_finished_events_are_gone_and_never_taken_up(
    inbox: DurableInbox, clock: ManualClock
) -> None:
    [kept] = await inbox.put([(_event(1), None)])
    await inbox.done(kept.inbox_id)
    clock.advance(minutes=10)
    assert await inbox.overdue("line", older_than=60) == []


async def test_unfinished_events_come_back_after_the_lease_once_per_lease(
    inbox: DurableInbox, clock: ManualClock
) -> None:
    await inbox.put([(_event(1, "面接を記録"), "token-1")])
    clock.advance(seconds=30)
    assert await inbox.overdue("line", older_than=60) == []
    clock.advance(seconds=31)
    [taken] = await inbox.overdue("line", older_than=60)
    assert taken.incoming == _event(1, "面接を記録") and taken.reply_to == "token-1"
    # Taking renews the lease: a second replica looking now does not get it too.
    assert await inbox.overdue("line", older_than=60) == []
    assert await inbox.overdue("telegram", older_than=0) == []


async def test_an_event_that_keeps_failing_is_set_aside_kept_and_counted(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(db_url)
    factory = create_session_factory(engine)
    metrics = Metrics()
    inbox = DurableInbox(lambda: UnitOfWork(factory), clock, metrics)
    try:
        await inbox.put([(_event(1, "private words"), None)])
        for _ in range(MAX_ATTEMPTS):
            clock.advance(minutes=2)
            assert len(await inbox.overdue("line", older_than=60)) == 1
        clock.advance(minutes=2)
        assert await inbox.overdue("line", older_than=60) == []
        assert "set aside" in caplog.text and "private words" not in caplog.text
        counted = metrics.registry.get_sample_value(
            "renraku_inbox_set_aside_total", {"channel": "line"}
        )
        assert counted == 1.0
        # Kept for an operator, never taken again, and a redelivery does not bring it back.
        async with UnitOfWork(factory) as uow:
            [row] = (await uow.session.scalars(select(InboxEvent))).all()
        assert row.set_aside_at is not None and row.payload["text"] == "private words"
        assert await inbox.put([(_event(1, "private words"), None)]) == []
        clock.advance(days=1)
        assert await inbox.overdue("line", older_than=60) == []
    finally:
        await engine.dispose()


async def test_events_without_an_id_pass_straight_through(inbox: DurableInbox) -> None:
    plain = Incoming.text_message(Address("line", "U9"), "hi")
    [item] = await inbox.put([(plain, None)])
    assert item.inbox_id == 0
    await inbox.done(0)
    assert await inbox.overdue("line", older_than=0) == []


async def test_finished_events_leave_in_the_transaction_that_keeps_the_next_batch(
    inbox: DurableInbox, clock: ManualClock
) -> None:
    first = await inbox.put([(_event(1), None), (_event(2), None)])
    handled = [item.inbox_id for item in first]
    [third] = await inbox.put([(_event(3), None)], finished=handled)
    clock.advance(minutes=10)
    # Only the event not yet handled is still waiting; the two handled ones are gone.
    assert [r.inbox_id for r in await inbox.overdue("line", older_than=60)] == [third.inbox_id]
    await inbox.done_many([third.inbox_id])
    clock.advance(minutes=10)
    assert await inbox.overdue("line", older_than=60) == []
