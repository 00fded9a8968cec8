"""The after-sent steps of a batch together give the same rows as row by row.

``ReminderKinds.after_sent_many`` (the follow-up kinds' set-based re-check planning) against
``ReminderKinds.after_sent`` for each row in turn, on the same database: every reminder row
and every interview's nudge count must come out the same, for a mixed batch with two rows of
one interview, a reminder already waiting (pending or paused), one being sent, the nudge
limit reached (the closing offer), muted and closed interviews, a user-level kind in between
and users in different time zones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from handlers import followup
from handlers.context import Context
from handlers.reminder_kinds import ReminderKinds
from messages.catalog import Catalog, load_catalog
from storage.db import create_engine, create_session_factory
from storage.models import Interview, Reminder, User
from storage.uow import UnitOfWork

# A Friday morning in Tokyo: the re-check three business days on is the next Wednesday.
NOW = datetime(2026, 12, 11, 1, 30, tzinfo=UTC)

# (user, time zone, interview status, muted, nudges so far, reminders already there).
INTERVIEWS: list[tuple[str, str, str, bool, int, list[tuple[str, str]]]] = [
    ("plain", "Asia/Tokyo", "waiting", False, 0, []),
    ("has_pending", "Asia/Tokyo", "waiting", False, 0, [("halfway", "pending")]),
    ("has_paused", "Asia/Tokyo", "waiting", False, 0, [("recheck", "paused")]),
    ("being_sent", "Asia/Tokyo", "waiting", False, 0, [("recheck_later", "sending")]),
    ("at_limit", "Asia/Tokyo", "waiting", False, 2, []),
    ("one_left", "Europe/Berlin", "followed_up", False, 1, []),
    ("twice", "America/New_York", "waiting", False, 0, []),
    ("muted", "Asia/Tokyo", "waiting", True, 0, []),
    ("closed", "Asia/Tokyo", "passed", False, 0, []),
]
# The batch, in delivery order: (user, kind); a user's interview is the one above.
BATCH: list[tuple[str, str]] = [
    ("plain", "followup"),
    ("has_pending", "followup"),
    ("has_paused", "recheck"),
    ("being_sent", "followup_later"),
    ("digest_user", "digest"),
    ("at_limit", "recheck"),
    ("one_left", "followup"),
    ("one_left", "recheck"),
    ("twice", "followup"),
    ("twice", "recheck_later"),
    ("muted", "followup"),
    ("closed", "recheck_later"),
    ("plain", "halfway"),
]


def _catalog() -> Catalog:
    return load_catalog()


def _interview(
    user_id: int, *, status: str = "waiting", followups_sent: int = 0, muted: bool = False
) -> Interview:
    """A first interview of 11/25 with a two-week promise, answered by email."""
    return Interview(
        user_id=user_id,
        company="株式会社サンプル",
        interview_date=date(2026, 11, 25),
        stage="first",
        promised="weeks:2",
        contact_method="email",
        status=status,
        followups_sent=followups_sent,
        muted=muted,
    )


async def _seed(uow: UnitOfWork) -> None:
    for name, timezone, status, muted, nudges, rows in INTERVIEWS:
        user = await uow.users.get_or_create("console", name, locale="ja", timezone=timezone)
        interview = _interview(user.id, status=status, followups_sent=nudges, muted=muted)
        uow.interviews.add(interview)
        await uow.interviews.flush()
        for kind, state in rows:
            uow.reminders.add(
                Reminder(
                    interview_id=interview.id,
                    user_id=user.id,
                    kind=kind,
                    due_at=datetime(2026, 12, 20, 1, 0, tzinfo=UTC),
                    state=state,
                    attempts=0,
                )
            )
    digest_user = await uow.users.get_or_create(
        "console", "digest_user", locale="ja", timezone="Asia/Tokyo"
    )
    digest_user.weekly_digest = True
    await uow.commit()


async def _delivered(
    uow: UnitOfWork, catalog: Catalog
) -> list[tuple[Context, Interview | None, str]]:
    """The batch as the dispatcher hands it over: one object per user and per interview."""
    users = {u.external_id: u for u in (await uow.session.scalars(select(User))).all()}
    interviews = {i.user_id: i for i in (await uow.session.scalars(select(Interview))).all()}
    delivered: list[tuple[Context, Interview | None, str]] = []
    for name, kind in BATCH:
        user = users[name]
        interview = None if kind == "digest" else interviews[user.id]
        ctx = Context(uow=uow, user=user, catalog=catalog, now=NOW, dialogue=None)
        delivered.append((ctx, interview, kind))
    return delivered


async def _snapshot(uow: UnitOfWork) -> dict[str, Any]:
    await uow.session.flush()
    users = {u.id: u.external_id for u in (await uow.session.scalars(select(User))).all()}
    reminders = (await uow.session.scalars(select(Reminder))).all()
    interviews = (await uow.session.scalars(select(Interview))).all()
    return {
        "reminders": sorted(
            (users[r.user_id], r.kind, r.state, r.due_at.isoformat(), r.attempts) for r in reminders
        ),
        "nudges": sorted((users[i.user_id], i.followups_sent) for i in interviews),
    }


async def _row_by_row(kinds: ReminderKinds, uow: UnitOfWork, catalog: Catalog) -> None:
    for ctx, interview, kind in await _delivered(uow, catalog):
        await kinds.after_sent(ctx, interview, kind)


async def _together(kinds: ReminderKinds, uow: UnitOfWork, catalog: Catalog) -> None:
    await kinds.after_sent_many(await _delivered(uow, catalog))


async def test_a_batch_together_leaves_what_row_by_row_leaves(db_url: str) -> None:
    catalog = _catalog()
    db = create_engine(db_url)
    factory = create_session_factory(db)
    try:
        async with UnitOfWork(factory) as uow:
            await _seed(uow)
        async with UnitOfWork(factory) as uow:
            before = await _snapshot(uow)
        # Row by row first, rolled back; then together, committed, on the same rows.
        async with UnitOfWork(factory) as uow:
            await _row_by_row(followup.KINDS, uow, catalog)
            expected = await _snapshot(uow)
            await uow.rollback()
        async with UnitOfWork(factory) as uow:
            assert await _snapshot(uow) == before
            await _together(followup.KINDS, uow, catalog)
            await uow.commit()
        async with UnitOfWork(factory) as uow:
            got = await _snapshot(uow)
    finally:
        await db.dispose()
    assert got == expected
    # And it did what the kinds say, so the comparison is not of two empty results.
    nudges = dict(got["nudges"])
    assert nudges == {
        "plain": 1,
        "has_pending": 1,
        "has_paused": 1,
        "being_sent": 0,
        "at_limit": 2,
        "one_left": 2,
        "twice": 1,
        "muted": 1,
        "closed": 0,
    }
    new = [r for r in got["reminders"] if r not in before["reminders"]]
    planned = sorted((user, kind) for user, kind, state, _, _ in new if state == "pending")
    assert planned == [
        ("being_sent", "recheck"),
        ("closed", "recheck"),
        ("digest_user", "digest"),
        ("muted", "recheck"),
        ("one_left", "recheck"),
        ("plain", "recheck"),
        ("twice", "recheck"),
    ]


@pytest.mark.parametrize("size", [5, 40])
async def test_a_batch_of_follow_ups_costs_the_same_few_statements_however_large(
    db_url: str, size: int
) -> None:
    catalog = _catalog()
    db = create_engine(db_url)
    factory = create_session_factory(db)
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    try:
        async with UnitOfWork(factory) as uow:
            for n in range(size):
                user = await uow.users.get_or_create(
                    "console", f"u{n}", locale="ja", timezone="Asia/Tokyo"
                )
                uow.interviews.add(_interview(user.id))
            await uow.commit()
        async with UnitOfWork(factory) as uow:
            users = {u.id: u for u in (await uow.session.scalars(select(User))).all()}
            interviews: Sequence[Interview] = (await uow.session.scalars(select(Interview))).all()
            delivered: list[tuple[Context, Interview | None, str]] = [
                (
                    Context(
                        uow=uow, user=users[i.user_id], catalog=catalog, now=NOW, dialogue=None
                    ),
                    i,
                    "followup",
                )
                for i in interviews
            ]
            event.listen(db.sync_engine, "before_cursor_execute", count)
            await followup.KINDS.after_sent_many(delivered)
            await uow.commit()
            event.remove(db.sync_engine, "before_cursor_execute", count)
        async with UnitOfWork(factory) as uow:
            rechecks = (
                await uow.session.scalars(select(Reminder).where(Reminder.kind == "recheck"))
            ).all()
    finally:
        await db.dispose()
    assert len(rechecks) == size
    # Which interviews wait for something, the cancel, one INSERT of the re-checks and the
    # nudge counts (one executemany), whatever the size: no statement per row.
    kinds = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert sorted(kinds) == ["INSERT", "SELECT", "UPDATE", "UPDATE"], statements
