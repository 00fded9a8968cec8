"""The reminder dispatcher on a real database (a SQLite file, and PostgreSQL when reachable).

The clock is a ManualClock and the dispatcher's sleep is a fake, so days pass in a line and
backoff waits cost nothing; only two tests wait a fraction of a real second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import reminders
from bot.bootstrap import uow_factory
from bot.engine import Engine
from bot.reminders import ReminderDispatcher
from bot.web import Metrics
from domain.protocol import PermanentFailure, RecipientGone, RetryLater
from handlers import followup
from handlers.context import Context
from handlers.reminder_kinds import ReminderKinds, ReminderKindSpec
from messages.catalog import Catalog, load_catalog
from storage.db import create_engine, create_session_factory
from storage.models import Interview, Reminder, StatusChange, User
from storage.uow import UnitOfWork
from tests.recording import FakeSleep, RecordingPusher
from tests.support import Chat, ManualClock
from tests.unit.test_registration import onboard, register_by_taps

COMPANY = "株式会社サンプル"
NAME = "応募者"
# Registered at 10:00 JST on Wed 11/25 with "2週間以内": the promised day Wed 12/9 is the
# company's, so the follow-up is at 10:00 JST on Thu 12/10; halfway nudge at 10:00 on Wed 12/2.
FOLLOWUP_AT = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
HALFWAY_AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = load_catalog()
    return _CATALOG


@dataclass
class Stack:
    """What one process has: its own engine and pool, a conversation engine, a dispatcher."""

    db: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    engine: Engine
    dispatcher: ReminderDispatcher
    pusher: RecordingPusher
    sleep: FakeSleep
    metrics: Metrics

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def counted(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "renraku_reminders_total", {"outcome": outcome}
        )
        return value or 0.0


@asynccontextmanager
async def running(
    url: str, clock: ManualClock, *, worker: str = "w1", **options: Any
) -> AsyncIterator[Stack]:
    db = create_engine(url)
    session_factory = create_session_factory(db)
    pusher = RecordingPusher()
    sleep = FakeSleep()
    metrics = Metrics()
    dispatcher = ReminderDispatcher(
        uow_factory(session_factory),
        catalog(),
        {"console": pusher},
        clock,
        metrics,
        worker_id=worker,
        sleep=sleep,
        **options,
    )
    engine = Engine(
        uow_factory(session_factory), catalog(), clock=clock, on_reminders_changed=dispatcher.wake
    )
    try:
        yield Stack(db, session_factory, engine, dispatcher, pusher, sleep, metrics)
    finally:
        await dispatcher.stop()
        await db.dispose()


async def register(stack: Stack, user: str = "u1") -> int:
    """Record an interview through the real conversation; return its id."""
    chat = Chat(stack.engine, user=user)
    await onboard(chat, NAME)
    await register_by_taps(chat)
    async with stack.uow() as uow:
        found = await uow.session.scalar(
            select(Interview.id).join(User).where(User.external_id == user)
        )
    assert found is not None
    return found


async def seed(
    stack: Stack,
    user: str,
    dues: Sequence[datetime],
    *,
    kind: str = "followup",
    channel: str = "console",
) -> list[int]:
    """A user with one interview and reminders written straight into the table."""
    async with stack.uow() as uow:
        owner = await uow.users.get_or_create(channel, user, locale="ja", timezone="Asia/Tokyo")
        owner.display_name = f"{NAME}{user}"
        interview = Interview(
            user_id=owner.id,
            company=COMPANY,
            interview_date=date(2026, 11, 25),
            stage="first",
            promised="weeks:2",
            contact_method="email",
            interviewer_name="採用担当",
            status="waiting",
            followups_sent=0,
            muted=False,
        )
        uow.interviews.add(interview)
        await uow.interviews.flush()
        rows = [
            Reminder(
                interview_id=interview.id,
                user_id=owner.id,
                kind=kind,
                due_at=due,
                state="pending",
                attempts=0,
            )
            for due in dues
        ]
        for row in rows:
            uow.reminders.add(row)
        await uow.session.flush()
        await uow.commit()
        return [row.id for row in rows]


async def rows(stack: Stack) -> list[Reminder]:
    async with stack.uow() as uow:
        return list((await uow.session.scalars(select(Reminder).order_by(Reminder.id))).all())


async def row(stack: Stack, reminder_id: int) -> Reminder:
    async with stack.uow() as uow:
        found = await uow.session.get(Reminder, reminder_id)
        assert found is not None
        return found


# --- when ------------------------------------------------------------------------------------


async def test_nothing_goes_out_early_and_each_reminder_goes_out_once(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        await register(stack)
        assert await stack.dispatcher.run_due() == 0

        clock.set(HALFWAY_AT - timedelta(minutes=1))
        assert await stack.dispatcher.run_due() == 0
        clock.set(HALFWAY_AT)
        assert await stack.dispatcher.run_due() == 1
        [halfway] = stack.pusher.pushes
        assert halfway.copy_texts == [], "a template went out a week early"
        assert "折り返し" in halfway.text

        # The promised day, Wed 12/9, belongs to the company: nothing all day.
        for hour in (1, 5, 9, 14):
            clock.set(datetime(2026, 12, 9, hour, 0, tzinfo=UTC))
            assert await stack.dispatcher.run_due() == 0, f"{hour}:00 UTC on the promised day"
        clock.set(FOLLOWUP_AT - timedelta(minutes=1))
        assert await stack.dispatcher.run_due() == 0
        clock.set(FOLLOWUP_AT)
        assert await stack.dispatcher.run_due() == 1
        assert await stack.dispatcher.run_due() == 0
        followup = stack.pusher.pushes[-1]
        assert len(stack.pusher.pushes) == 2
        assert len(followup.copy_texts) == 3
        assert f"（{NAME}）" in followup.copy_texts[0]
        assert sorted((r.kind, r.state) for r in await rows(stack)) == [
            ("followup", "sent"),
            ("halfway", "sent"),
            ("recheck", "pending"),
        ]
        assert stack.counted("sent") == 2


async def test_two_dispatchers_racing_send_each_reminder_exactly_once(
    db_url: str, clock: ManualClock
) -> None:
    count = 50
    async with (
        running(db_url, clock, worker="host-a:1", batch_size=7) as first,
        running(db_url, clock, worker="host-b:2", batch_size=7) as second,
    ):
        for n in range(count):
            await seed(first, f"u{n}", [clock.now - timedelta(minutes=n)])
        # Pushes take real (short) time, so the two interleave like two processes would: a
        # batch is prepared and recorded in a few transactions, and on SQLite the other
        # process finds the write lock free while a batch is out being pushed. Long enough
        # (0.1 s) that the other's claim, in SQLite's busy wait, finds such a moment before
        # a fast first dispatcher has claimed every row (at 0.02 s it lost about half the time).
        first.pusher.latency = second.pusher.latency = 0.1
        sent = await asyncio.gather(first.dispatcher.run_due(), second.dispatcher.run_due())
        assert sum(sent) == count
        assert min(sent) > 0, "the two did not actually run side by side"
        pushes = first.pusher.pushes + second.pusher.pushes
        assert len(pushes) == count
        assert len({p.idempotency_key for p in pushes}) == count
        assert len({p.external_id for p in pushes}) == count
        assert first.pusher.calls + second.pusher.calls == count

        again = await asyncio.gather(first.dispatcher.run_due(), second.dispatcher.run_due())
        assert again == [0, 0]
        everything = await rows(first)
        stored = [r for r in everything if r.kind == "followup"]
        assert [r.state for r in stored] == ["sent"] * count
        # Each follow-up planned its re-check exactly once.
        assert [r.state for r in everything if r.kind == "recheck"] == ["pending"] * count
        assert {r.claimed_by for r in stored} <= {"host-a:1", "host-b:2"}
        async with first.uow() as uow:
            total = await uow.session.scalar(select(func.sum(Interview.followups_sent)))
        assert total == count


async def test_reminders_due_during_downtime_go_out_once_at_start(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as before:
        await register(before)
    clock.advance(days=26)  # back on Mon 12/21, 10:00 in Tokyo
    async with running(db_url, clock) as after:
        await after.dispatcher.start()
        await asyncio.wait_for(after.dispatcher.wait_idle(), 5)
        [push] = after.pusher.pushes
        assert len(push.copy_texts) == 3 and COMPANY in push.copy_texts[1]
        # A late follow-up says how late it is, not that today is the promised day.
        assert "約束の日（12月9日(水)）が過ぎました。面接から26日です。" in push.text
        states = sorted((r.kind, r.state) for r in await rows(after))
        # The halfway nudge fell due too, but the promised day has come: it is dropped.
        # The follow-up went out, so its re-check is planned.
        assert states == [("followup", "sent"), ("halfway", "cancelled"), ("recheck", "pending")]
        planned = after.dispatcher.next_wake_at()
        assert planned is not None and planned > datetime.now(UTC) + timedelta(days=2)
    async with running(db_url, clock) as restarted:
        await restarted.dispatcher.start()
        await asyncio.wait_for(restarted.dispatcher.wait_idle(), 5)
        assert restarted.pusher.pushes == []


async def test_back_from_downtime_on_a_sunday_the_followup_waits_for_monday(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as before:
        await register(before)
    clock.advance(days=25)  # back on Sun 12/20, 10:00 in Tokyo
    async with running(db_url, clock) as after:
        assert await after.dispatcher.run_due() == 0, "nothing to chase a company with on Sunday"
        followup = next(r for r in await rows(after) if r.kind == "followup")
        # Deferred, never cancelled: a follow-up that was never attempted still goes out.
        assert (followup.state, followup.due_at) == (
            "pending",
            datetime(2026, 12, 21, 1, 0, tzinfo=UTC),
        )
        clock.set(followup.due_at)
        assert await after.dispatcher.run_due() == 1
        assert len(after.pusher.pushes[-1].copy_texts) == 3


async def test_saving_an_interview_plans_the_next_wake_up(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        await stack.dispatcher.start()
        await asyncio.wait_for(stack.dispatcher.wait_idle(), 5)
        assert stack.dispatcher.next_wake_at() is None
        await register(stack)
        await asyncio.wait_for(stack.dispatcher.wait_idle(), 5)
        planned = stack.dispatcher.next_wake_at()
        assert planned is not None
        expected = datetime.now(UTC) + (HALFWAY_AT - clock.now)
        assert abs((planned - expected).total_seconds()) < 5
        # Time passes (the injected clock) and something wakes the dispatcher: it sends.
        clock.set(HALFWAY_AT)
        stack.dispatcher.wake()
        await asyncio.wait_for(stack.dispatcher.wait_idle(), 5)
        assert len(stack.pusher.pushes) == 1


async def test_quiet_hours_hold_a_due_reminder_until_morning(
    db_url: str, clock: ManualClock
) -> None:
    night = datetime(2026, 12, 9, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [night])
        clock.set(night)
        assert await stack.dispatcher.run_due() == 0
        held = await row(stack, rid)
        assert (held.state, held.attempts) == ("pending", 0)
        assert held.due_at == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
        clock.set(datetime(2026, 12, 9, 22, 59, tzinfo=UTC))
        assert await stack.dispatcher.run_due() == 0
        clock.set(held.due_at)
        assert await stack.dispatcher.run_due() == 1


# --- delivery faults -------------------------------------------------------------------------


async def test_failed_pushes_count_as_channel_errors_but_a_user_leaving_does_not(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        await seed(stack, "u1", [clock.now])
        await seed(stack, "u2", [clock.now])
        stack.pusher.fail_next("u1", RetryLater("502"))
        stack.pusher.fail_next("u2", RecipientGone("blocked"))
        await stack.dispatcher.run_due()
        errors = stack.metrics.registry.get_sample_value(
            "renraku_channel_errors_total", {"channel": "console"}
        )
        assert errors == 1.0


async def test_429_waits_retry_after_and_then_sends(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        stack.pusher.fail_next("u1", RetryLater("429", retry_after=30))
        assert await stack.dispatcher.run_due() == 0
        waiting = await row(stack, rid)
        assert (waiting.state, waiting.attempts) == ("pending", 0)
        assert waiting.due_at == clock.now + timedelta(seconds=30)
        assert waiting.last_error == "RetryLater"
        assert stack.sleep.waits == []
        clock.advance(seconds=29)
        assert await stack.dispatcher.run_due() == 0
        clock.advance(seconds=1)
        assert await stack.dispatcher.run_due() == 1
        assert (await row(stack, rid)).state == "sent"
        assert stack.counted("retried") == 1


async def test_short_retry_after_is_waited_in_place(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        await seed(stack, "u1", [clock.now])
        stack.pusher.fail_next("u1", RetryLater("429", retry_after=2))
        assert await stack.dispatcher.run_due() == 1
        assert stack.sleep.waits == [2.0]


async def test_a_throttled_channel_holds_the_rest_of_the_run(
    db_url: str, clock: ManualClock
) -> None:
    # One at a time, so the rows after the throttled one have not started yet.
    async with running(db_url, clock, concurrency=1) as stack:
        for n in range(3):
            await seed(stack, f"u{n}", [clock.now - timedelta(minutes=3 - n)])
        stack.pusher.fail_next("u0", RetryLater("429", retry_after=60))
        assert await stack.dispatcher.run_due() == 0
        assert stack.pusher.calls == 1, "the others were pushed into the same wall"
        assert {r.due_at for r in await rows(stack)} == {clock.now + timedelta(seconds=60)}
        clock.advance(seconds=60)
        assert await stack.dispatcher.run_due() == 3


async def test_different_users_are_sent_side_by_side_and_one_user_in_order(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock, concurrency=4) as stack:
        for n in range(6):
            await seed(stack, f"u{n}", [clock.now - timedelta(minutes=1)])
        await seed(stack, "u0", [clock.now - timedelta(seconds=30)])
        # Each push is held until four are in flight at once (the gate times out, and the
        # count below fails, if the dispatcher never runs them side by side), however slow
        # the machine; a fifth would raise the count past the bound.
        stack.pusher.gate = 4
        assert await stack.dispatcher.run_due() == 7
        assert stack.pusher.gate_opened.is_set()
        # Bounded: never more than the configured number of pushes in flight.
        assert stack.pusher.most_in_flight == 4
        # One user's reminders go one after another, in order.
        assert stack.pusher.most_in_flight_for_one == 1
        assert len(stack.pusher.to("u0")) == 2


def _tokyo_hour(moment: datetime) -> int:
    return (moment + timedelta(hours=9)).hour


async def test_an_outage_of_two_hours_delays_the_reminder_and_it_goes_out_once(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])  # 10:00 in Tokyo
        stack.pusher.failing["u1"] = RetryLater("HTTP 500")
        recovery = clock.now + timedelta(hours=2)
        delays = []
        while clock.now < recovery:
            assert await stack.dispatcher.run_due() == 0
            waiting = await row(stack, rid)
            assert (waiting.state, waiting.attempts) == ("pending", 0)
            delays.append((waiting.due_at - clock.now).total_seconds())
            clock.set(waiting.due_at)
        assert delays[:5] == [60, 60, 120, 240, 480]
        assert max(delays) == 1800, "tried less often than every 30 minutes"
        del stack.pusher.failing["u1"]
        assert clock.now - recovery <= timedelta(minutes=30)
        assert await stack.dispatcher.run_due() == 1
        assert len(stack.pusher.to("u1")) == 1
        sent = await row(stack, rid)
        assert (sent.state, sent.retrying_since, sent.last_error) == ("sent", None, None)
        assert stack.counted("retried") == len(delays)
        assert stack.counted("sent") == 1
        assert stack.counted("gave_up") == 0


async def test_an_outage_past_the_usefulness_window_gives_up_visibly(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO and up: what production logs (library DEBUG output echoes SQL parameters).
    caplog.set_level(logging.INFO)
    async with running(db_url, clock) as stack:
        # Due Thu 12/10 10:00 in Tokyo; three business days after it end with Tue 12/15.
        clock.set(FOLLOWUP_AT)
        [rid] = await seed(stack, "u1", [clock.now])
        # A channel's error text may quote the message; it must not reach the log.
        stack.pusher.failing["u1"] = RetryLater(f"HTTP 401 while sending {COMPANY} {NAME}")
        tries = []
        while (await row(stack, rid)).state == "pending":
            tries.append(clock.now)
            assert await stack.dispatcher.run_due() == 0
            clock.set((await row(stack, rid)).due_at)
        failed = await row(stack, rid)
        assert (failed.state, failed.last_error) == ("failed", "RetryLater")
        assert all(not (_tokyo_hour(t) >= 22 or _tokyo_hour(t) < 8) for t in tries)
        # A retry due at night moved to the end of the user's quiet hours.
        assert any(_tokyo_hour(t) == 8 and t.minute == 0 for t in tries)
        # A follow-up goes out on business days only, so the weekend holds its retries.
        local_days = [(t + timedelta(hours=9)).date() for t in tries]
        assert all(day.weekday() < 5 for day in local_days)
        overnight = [
            b - a
            for (a, b), (day_a, day_b) in zip(
                itertools.pairwise(tries), itertools.pairwise(local_days), strict=True
            )
            if (day_b - day_a).days <= 1
        ]
        assert max(overnight) <= timedelta(hours=11)
        last_local = tries[-1] + timedelta(hours=9)
        assert last_local.date() == date(2026, 12, 15), "stopped before the window ended"
        assert stack.counted("gave_up") == 1
        assert stack.counted("retried") == len(tries) - 1
        clock.advance(days=1)
        calls = stack.pusher.calls
        assert await stack.dispatcher.run_due() == 0
        assert stack.pusher.calls == calls

    final = [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(final) == 1
    assert final[0].levelno == logging.ERROR
    assert f"reminder {rid} " in final[0].getMessage()
    assert "RetryLater" in final[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (COMPANY, NAME, "採用担当", "HTTP 401", "お世話になっております"):
        assert secret not in logged


async def test_a_bug_in_a_channel_fails_after_max_attempts(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        stack.pusher.failing["u1"] = ValueError("oops")
        delays = []
        for _ in range(4):
            assert await stack.dispatcher.run_due() == 0
            waiting = await row(stack, rid)
            delays.append((waiting.due_at - clock.now).total_seconds())
            clock.set(waiting.due_at)
        assert delays == [60, 120, 240, 480]
        assert await stack.dispatcher.run_due() == 0
        failed = await row(stack, rid)
        assert (failed.state, failed.attempts, failed.last_error) == ("failed", 5, "ValueError")
        assert stack.counted("gave_up") == 1


async def test_hanging_push_times_out_and_is_retried(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reminders.sending, "PUSH_TIMEOUT", 0.02)
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        stack.pusher.latency = 5.0
        assert await stack.dispatcher.run_due() == 0
        waiting = await row(stack, rid)
        # A platform that hangs is a platform fault: no attempt used up, retried while useful.
        assert (waiting.state, waiting.attempts, waiting.last_error) == (
            "pending",
            0,
            "RetryLater",
        )
        assert waiting.retrying_since == clock.now
        stack.pusher.latency = 0.0
        clock.set(waiting.due_at)
        assert await stack.dispatcher.run_due() == 1


async def test_permanent_failure_fails_at_once_and_others_still_go(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [bad] = await seed(stack, "u1", [clock.now - timedelta(minutes=1)])
        [good] = await seed(stack, "u2", [clock.now])
        stack.pusher.fail_next("u1", PermanentFailure("400"))
        assert await stack.dispatcher.run_due() == 1
        assert (await row(stack, bad)).state == "failed"
        assert (await row(stack, good)).state == "sent"
        assert stack.counted("permanent_failure") == 1


async def test_a_bug_in_a_channel_does_not_stop_the_dispatcher(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [broken] = await seed(stack, "u1", [clock.now - timedelta(minutes=1)])
        await seed(stack, "u2", [clock.now])
        stack.pusher.fail_next("u1", ValueError("oops"))
        assert await stack.dispatcher.run_due() == 1
        retried = await row(stack, broken)
        assert (retried.state, retried.attempts, retried.last_error) == (
            "pending",
            1,
            "ValueError",
        )


async def test_blocked_user_is_paused_and_everyone_else_continues(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        gone_now, gone_later = await seed(
            stack, "blocked", [clock.now - timedelta(minutes=2), clock.now + timedelta(days=3)]
        )
        [other] = await seed(stack, "u2", [clock.now])
        stack.pusher.failing["blocked"] = RecipientGone("403")
        assert await stack.dispatcher.run_due() == 1
        assert [p.external_id for p in stack.pusher.pushes] == ["u2"]
        assert (await row(stack, gone_now)).state == "paused"
        assert (await row(stack, gone_later)).state == "paused"
        assert (await row(stack, other)).state == "sent"
        async with stack.uow() as uow:
            blocked = await uow.users.find("console", "blocked")
            assert blocked is not None and blocked.active is False
        assert stack.counted("recipient_gone") == 1

        # They come back: the paused reminders resume, the overdue one goes out.
        del stack.pusher.failing["blocked"]
        await Chat(stack.engine, user="blocked").say("/list")
        assert (await row(stack, gone_later)).state == "pending"
        assert await stack.dispatcher.run_due() == 1
        assert stack.pusher.pushes[-1].external_id == "blocked"


async def test_channel_without_a_sender_waits_and_is_logged_once(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.reminders")
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "line-user", [clock.now], channel="line")
        assert await stack.dispatcher.run_due() == 0
        assert await stack.dispatcher.run_due() == 0
        assert (await row(stack, rid)).state == "pending"
        notes = [r for r in caplog.records if "no sender" in r.getMessage()]
        assert len(notes) == 1 and "line" in notes[0].getMessage()


async def test_a_crashed_workers_claim_is_taken_back_after_the_lease(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        async with stack.uow() as uow:
            stuck = await uow.session.get(Reminder, rid)
            assert stuck is not None
            stuck.state, stuck.claimed_by, stuck.claimed_at = "sending", "dead:1", clock.now
            await uow.commit()
        clock.advance(minutes=4)
        assert await stack.dispatcher.run_due() == 0
        clock.advance(minutes=2)
        assert await stack.dispatcher.run_due() == 1
        sent = await row(stack, rid)
        assert (sent.state, sent.attempts, sent.claimed_by) == ("sent", 1, "w1")


async def test_a_half_sent_reminder_is_finished_by_the_next_worker_not_repeated(
    db_url: str, clock: ManualClock
) -> None:
    async with (
        running(db_url, clock, worker="host-a:1") as first,
        running(db_url, clock, worker="host-b:2") as second,
    ):
        [rid] = await seed(first, "u1", [clock.now])
        first.pusher.per_reply = second.pusher.per_reply = True
        # The first worker gets part 0 out, then dies as it pushes part 1.
        first.pusher.die_at_message = 1
        assert await first.dispatcher.run_due() == 0
        [part0] = first.pusher.pushes
        half = await row(first, rid)
        assert (half.state, half.parts_sent, half.claimed_by) == ("sending", 1, "host-a:1")
        assert half.composed is not None and len(half.composed) >= 3
        async with first.uow() as uow:
            owner = await uow.users.find("console", "u1")
            assert owner is not None
            tips_before = dict(owner.recent_tips)

        clock.advance(minutes=4)
        assert await second.dispatcher.run_due() == 0, "taken over inside the lease"
        clock.advance(minutes=2)
        assert await second.dispatcher.run_due() == 1

        rest = second.pusher.pushes
        assert len(rest) == len(half.composed) - 1
        received = [p.text for p in [part0, *rest]]
        assert len(set(received)) == len(received), "a part arrived twice"
        # The rest is the stored composition, not a second one with other tips in it.
        assert [p.replies[0].text for p in rest] == [r["text"] for r in half.composed[1:]]
        key = part0.idempotency_key
        assert [p.idempotency_key for p in rest] == [f"{key}:{n}" for n in range(1, len(rest) + 1)]
        done = await row(second, rid)
        assert (done.state, done.parts_sent, done.composed) == ("sent", len(rest) + 1, None)
        async with second.uow() as uow:
            owner = await uow.users.find("console", "u1")
            assert owner is not None and owner.recent_tips == tips_before
            interview = await uow.session.scalar(select(Interview))
            assert interview is not None and interview.followups_sent == 1
        assert second.counted("sent") == 1


async def test_a_whole_reminder_push_is_one_part_with_the_rows_key(
    db_url: str, clock: ManualClock
) -> None:
    # LINE-like: one request carries the reminder; its retry key is the row's own.
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        stack.pusher.fail_next("u1", RetryLater("500"))
        assert await stack.dispatcher.run_due() == 1
        first, second = stack.pusher.calls, len(stack.pusher.pushes)
        assert (first, second) == (2, 1)
        sent = await row(stack, rid)
        assert stack.pusher.pushes[0].idempotency_key == sent.idempotency_key
        assert (sent.parts_sent, sent.composed) == (1, None)


# --- what the user does ----------------------------------------------------------------------


async def test_recorded_outcome_cancels_pending_reminders(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        iid = await register(stack)
        chat = Chat(stack.engine)
        await chat.act(f"i:{iid}:res")
        await chat.press("合格")
        assert {r.state for r in await rows(stack)} == {"cancelled"}
        clock.set(FOLLOWUP_AT + timedelta(days=1))
        assert await stack.dispatcher.run_due() == 0
        assert stack.pusher.calls == 0


async def test_outcome_recorded_after_the_claim_still_stops_the_send(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [rid] = await seed(stack, "u1", [clock.now])
        async with stack.uow() as uow:
            interview = await uow.session.scalar(select(Interview))
            assert interview is not None
            interview.status = "rejected"
            await uow.commit()
        assert await stack.dispatcher.run_due() == 0
        assert (await row(stack, rid)).state == "cancelled"


async def test_muted_interview_gets_nothing(db_url: str, clock: ManualClock) -> None:
    async with running(db_url, clock) as stack:
        iid = await register(stack)
        await Chat(stack.engine).act(f"f:{iid}:mute")
        clock.set(FOLLOWUP_AT)
        assert await stack.dispatcher.run_due() == 0
        assert stack.pusher.calls == 0


async def test_followed_then_recheck_then_no_response_by_choice(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        iid = await register(stack)
        chat = Chat(stack.engine)
        clock.set(FOLLOWUP_AT)
        assert await stack.dispatcher.run_due() == 1  # the halfway nudge is stale by now
        first = stack.pusher.pushes[-1]
        assert f"f:{iid}:done" in first.actions

        await chat.act(f"f:{iid}:done")
        recheck_at = datetime(2026, 12, 15, 1, 0, tzinfo=UTC)  # 3 business days: Tue 12/15
        assert "12月15日(火) 10:00" in chat.text
        clock.set(recheck_at - timedelta(minutes=1))
        assert await stack.dispatcher.run_due() == 0
        clock.set(recheck_at)
        assert await stack.dispatcher.run_due() == 1
        second = stack.pusher.pushes[-1]
        assert second.copy_texts[0].startswith("【再度のお伺い】")
        assert "12月10日(木)" in second.text and "エージェント" in second.text

        # Nothing pressed after the second nudge: three business days later, the choice.
        clock.set(datetime(2026, 12, 18, 1, 0, tzinfo=UTC))
        assert await stack.dispatcher.run_due() == 1
        last = stack.pusher.pushes[-1]
        assert "連絡なし" in last.text and last.copy_texts == []
        assert "12月10日(木)に問い合わせましたが" in last.text
        assert f"f:{iid}:none" in last.actions and f"f:{iid}:more" in last.actions
        async with stack.uow() as uow:
            interview = await uow.session.get(Interview, iid)
            assert interview is not None
            # Offered, not set: only the user's tap records 連絡なし.
            assert (interview.status, interview.followups_sent) == ("followed_up", 2)
        clock.advance(days=30)
        assert await stack.dispatcher.run_due() == 0, "the closing offer comes once"

        await chat.act(f"f:{iid}:none")
        async with stack.uow() as uow:
            interview = await uow.session.get(Interview, iid)
            assert interview is not None
            assert interview.status == "no_response"
            history = (
                await uow.session.scalars(select(StatusChange.to_status).order_by(StatusChange.id))
            ).all()
            assert list(history) == ["waiting", "followed_up", "no_response"]
            assert await uow.reminders.pending_for_interview(iid) == []
        assert len(stack.pusher.pushes) == 3


async def test_the_background_worker_survives_a_failed_run(
    db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(db_url, clock) as stack:
        await seed(stack, "u1", [clock.now])
        dispatcher = stack.dispatcher
        real_claim = dispatcher.claims.take
        failures = [ConnectionError("database away")]

        async def flaky_claim() -> Any:
            if failures:
                raise failures.pop()
            return await real_claim()

        monkeypatch.setattr(dispatcher.claims, "take", flaky_claim)
        await dispatcher.start()
        await asyncio.wait_for(dispatcher.wait_idle(), 5)
        assert stack.pusher.pushes == []
        # Overdue rows are retried after a pause, not in a tight loop.
        planned = dispatcher.next_wake_at()
        assert planned is not None
        assert planned - datetime.now(UTC) > timedelta(seconds=reminders.PAUSE_AFTER_FAILED_RUN - 1)
        dispatcher.wake()
        await asyncio.wait_for(dispatcher.wait_idle(), 5)
        assert len(stack.pusher.pushes) == 1


# --- a batch at a time -------------------------------------------------------------------------


def _count_commits(db: AsyncEngine) -> list[int]:
    """Count the transactions committed on ``db`` from now on (a one-item list, for closures)."""
    commits = [0]

    def on_commit(_connection: Any) -> None:
        commits[0] += 1

    event.listen(db.sync_engine, "commit", on_commit)
    return commits


async def test_a_batch_costs_a_few_transactions_not_a_few_per_reminder(
    db_url: str, clock: ManualClock
) -> None:
    count = 60
    async with running(db_url, clock, batch_size=count, concurrency=count) as stack:
        for n in range(count):
            await seed(stack, f"u{n}", [clock.now - timedelta(minutes=n)])
        stack.pusher.per_reply = True  # three parts each, each recorded before the next
        commits = _count_commits(stack.db)
        assert await stack.dispatcher.run_due() == count
        pushes = stack.pusher.pushes
        assert len(pushes) == 3 * count
        assert len({p.idempotency_key for p in pushes}) == len(pushes)
        # Row by row it took six commits a reminder. Now: the claim, the batch's preparing,
        # and for each wave of pushes (8, 16, 32, then the 4 left, as the slots open) one
        # commit per part (the last one marks the rows SENT) and one for the after-sent
        # steps; then the claim that finds nothing more.
        assert commits[0] <= 25, f"{commits[0]} commits for {count} reminders"
        everything = await rows(stack)
        assert [r.state for r in everything if r.kind == "followup"] == ["sent"] * count
        assert {(r.parts_sent, r.composed) for r in everything if r.kind == "followup"} == {
            (3, None)
        }
        assert [r.state for r in everything if r.kind == "recheck"] == ["pending"] * count
        assert stack.counted("sent") == count


async def test_a_users_second_reminder_is_prepared_after_the_first_is_out(
    db_url: str, clock: ManualClock
) -> None:
    # Two of one interview's nudges fall due in the same batch (a downtime, say). The second
    # must be decided on what the first changed: the first used up the last nudge, so the
    # second is the closing offer, not a third nudge.
    async with running(db_url, clock) as stack:
        [first] = await seed(stack, "u1", [clock.now - timedelta(minutes=2)])
        async with stack.uow() as uow:
            interview = await uow.session.scalar(select(Interview))
            assert interview is not None
            interview.followups_sent = 1
            uow.reminders.add(
                Reminder(
                    interview_id=interview.id,
                    user_id=interview.user_id,
                    kind="recheck",
                    due_at=clock.now - timedelta(minutes=1),
                    state="pending",
                    attempts=0,
                )
            )
            await uow.commit()
        await seed(stack, "u2", [clock.now - timedelta(minutes=1)])
        assert await stack.dispatcher.run_due() == 3
        nudge, other, closing = stack.pusher.pushes
        assert (nudge.external_id, other.external_id, closing.external_id) == ("u1", "u2", "u1")
        assert nudge.copy_texts, "the follow-up carries its templates"
        assert "連絡なし" in closing.text and closing.copy_texts == []
        assert (await row(stack, first)).state == "sent"


def _with_failing_step(failing_user: str, *, batch: bool) -> ReminderKinds:
    """The shipped kinds, but the follow-up's after-sent step fails for one user.

    ``batch``: the step for many rows at once fails too (whenever that user is among them);
    else the kind has no batch step, and a batch runs the row-by-row one.
    """
    spec = followup.KINDS.spec("followup")
    assert isinstance(spec, ReminderKindSpec)
    step_many = spec.after_sent_many
    assert step_many is not None

    async def after_sent(ctx: Context, interview: Interview) -> None:
        if ctx.user.external_id == failing_user:
            raise RuntimeError("a bug in one kind's step")
        await spec.after_sent(ctx, interview)

    async def after_sent_many(delivered: Sequence[tuple[Context, Interview]]) -> None:
        if any(ctx.user.external_id == failing_user for ctx, _ in delivered):
            raise RuntimeError("a bug in one kind's step")
        await step_many(delivered)

    others = [s for s in followup.KINDS.specs.values() if s.kind != spec.kind]
    changed = dataclasses.replace(
        spec, after_sent=after_sent, after_sent_many=after_sent_many if batch else None
    )
    return ReminderKinds(
        [*others, changed],
        nudge_limit=followup.KINDS.nudge_limit,
        past_limit=followup.KINDS.past_limit,
    )


@pytest.mark.parametrize("batch", [False, True], ids=["row_step", "batch_step"])
async def test_one_failing_after_sent_step_costs_only_its_own_row(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture, batch: bool
) -> None:
    async with running(db_url, clock, kinds=_with_failing_step("u1", batch=batch)) as stack:
        ids = [(await seed(stack, f"u{n}", [clock.now]))[0] for n in range(4)]
        assert await stack.dispatcher.run_due() == 4
        # Delivered rows stay delivered, whatever their step did.
        assert [(await row(stack, rid)).state for rid in ids] == ["sent"] * 4
        async with stack.uow() as uow:
            counted = await uow.session.execute(
                select(User.external_id, Interview.followups_sent).join(Interview)
            )
            planned = dict(counted.all())
            rechecks = await uow.session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.kind == "recheck")
            )
        # The others' steps ran (a nudge counted, a re-check planned); u1's left nothing.
        assert planned == {"u0": 1, "u1": 0, "u2": 1, "u3": 1}
        assert rechecks == 3
        failed = [r for r in caplog.records if "follow-up step failed" in r.getMessage()]
        assert len(failed) == 1 and f"reminder {ids[1]} " in failed[0].getMessage()


async def test_a_row_that_cannot_be_prepared_costs_only_itself(
    db_url: str, clock: ManualClock
) -> None:
    async with running(db_url, clock) as stack:
        [good] = await seed(stack, "u1", [clock.now - timedelta(minutes=1)])
        [unknown] = await seed(stack, "u2", [clock.now], kind="from_v9")
        [other] = await seed(stack, "u3", [clock.now])
        assert await stack.dispatcher.run_due() == 2
        assert (await row(stack, good)).state == "sent"
        assert (await row(stack, other)).state == "sent"
        # Left for a worker that knows the kind, an attempt used up, as before.
        waiting = await row(stack, unknown)
        assert (waiting.state, waiting.attempts, waiting.last_error) == (
            "pending",
            1,
            "UnknownKind",
        )


async def test_stopping_mid_run_lets_the_pushes_out_finish_and_gives_the_rest_back(
    db_url: str, clock: ManualClock
) -> None:
    count = 30
    async with running(db_url, clock, concurrency=4, batch_size=10) as stack:
        for n in range(count):
            await seed(stack, f"u{n}", [clock.now - timedelta(minutes=n)])
        stack.pusher.latency = 0.05
        run = asyncio.create_task(stack.dispatcher.run_due())
        while not stack.pusher.pushes:
            await asyncio.sleep(0.01)
        await stack.dispatcher.stop()
        sent = await asyncio.wait_for(run, 10)
        assert 0 < sent < count
        assert len(stack.pusher.pushes) == sent
        followups = [r for r in await rows(stack) if r.kind == "followup"]
        # Nothing is left half-way: what went out is SENT, the rest waits to be claimed again.
        assert sorted({r.state for r in followups}) == ["pending", "sent"]
        assert sum(r.state == "sent" for r in followups) == sent
        assert all(r.claimed_by is None for r in followups if r.state == "pending")
        # The rows claimed but not yet out were given back at once, not left for the lease.
        assert stack.counted("stopping") > 0
        assert stack.counted("stopping") + sent <= count
