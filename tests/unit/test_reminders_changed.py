"""The dispatcher is woken exactly when a handled event wrote reminder rows; no handler says so."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.bootstrap import Renraku, uow_factory
from bot.engine import Engine
from storage.models import Interview, Reminder, ReminderKind
from tests.support import Chat
from tests.unit.test_registration import onboard, register_by_taps


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _engine(app: Renraku, wakes: Wakes) -> Engine:
    return Engine(
        uow_factory(app.session_factory), app.catalog, clock=app.clock, on_reminders_changed=wakes
    )


async def test_saving_an_interview_wakes_the_dispatcher_and_browsing_does_not(
    app: Renraku,
) -> None:
    wakes = Wakes()
    chat = Chat(_engine(app, wakes))
    await onboard(chat)
    await chat.say("/new")
    await chat.say("株式会社サンプル")
    assert wakes.count == 0

    await register_by_taps(chat)
    assert wakes.count == 1
    async with app.uow() as uow:
        assert len((await uow.session.scalars(select(Reminder))).all()) == 2

    await chat.say("/list")
    await chat.say("/help")
    await chat.say("/settings")
    assert wakes.count == 1

    async with app.uow() as uow:
        iid = await uow.session.scalar(select(Interview.id))
    # A bulk UPDATE in the repository (cancel) counts as well as an added row.
    await chat.act(f"f:{iid}:mute")
    assert wakes.count == 2
    # Muting again finds nothing pending: nothing written, nothing to re-plan.
    await chat.act(f"f:{iid}:mute")
    assert wakes.count == 2


async def test_deleting_an_interview_wakes_the_dispatcher(app: Renraku) -> None:
    wakes = Wakes()
    chat = Chat(_engine(app, wakes))
    await onboard(chat)
    await register_by_taps(chat)
    async with app.uow() as uow:
        iid = await uow.session.scalar(select(Interview.id))
    await chat.act(f"i:{iid}:del")  # the confirmation is asked first, and writes no reminder
    await chat.act(f"i:{iid}:delok")
    # The database cascades the delete to the interview's reminders.
    assert wakes.count == 2


async def test_the_unit_of_work_counts_only_committed_reminder_writes(app: Renraku) -> None:
    async with app.uow() as uow:
        user = await uow.users.get_or_create("console", "u9", locale="ja", timezone="Asia/Tokyo")
        await uow.commit()
        assert not uow.reminders_changed
        interview = Interview(
            user_id=user.id,
            company="株式会社サンプル",
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
        iid = interview.id
        await uow.commit()
        assert not uow.reminders_changed

    async with app.uow() as uow:
        uow.reminders.add(
            Reminder(
                interview_id=iid, user_id=user.id, kind="followup", due_at=app.clock(), attempts=0
            )
        )
        await uow.interviews.flush()
        await uow.rollback()
        await uow.commit()
        assert not uow.reminders_changed

    async with app.uow() as uow:
        assert await uow.reminders.cancel_for_interview(iid) == 0
        await uow.commit()
        assert not uow.reminders_changed
        uow.reminders.add(
            Reminder(
                interview_id=iid, user_id=user.id, kind="followup", due_at=app.clock(), attempts=0
            )
        )
        await uow.commit()
        assert uow.reminders_changed

    async with app.uow() as uow:
        [reminder] = await uow.reminders.for_user(user.id)
        reminder.attempts = reminder.attempts
        await uow.commit()
        # Touched but unchanged is not a write.
        assert not uow.reminders_changed
        reminder.attempts += 1
        await uow.commit()
        assert uow.reminders_changed


async def test_reminders_planned_in_one_insert_count_as_written(app: Renraku) -> None:
    async with app.uow() as uow:
        user = await uow.users.get_or_create("console", "u1", locale="ja", timezone="Asia/Tokyo")
        await uow.commit()
    async with app.uow() as uow:
        await uow.reminders.add_many(
            [(None, user.id, ReminderKind.DIGEST, datetime(2026, 12, 14, 0, 0, tzinfo=UTC))]
        )
        await uow.commit()
        assert uow.reminders_changed
    async with app.uow() as uow:
        [row] = (await uow.session.scalars(select(Reminder))).all()
    assert (row.kind, row.state, row.attempts, row.parts_sent) == ("digest", "pending", 0, 0)
    assert row.idempotency_key
