"""The reminder queue: claim due rows atomically, renew the claim, and record how each ended.

A claim is one short transaction that turns due PENDING rows into SENDING rows stamped with
the worker's id, so two workers (threads, processes, replicas) never get the same row:
SQLite serialises writers and takes the rows in one ``UPDATE ... RETURNING``; PostgreSQL
locks them with ``FOR UPDATE SKIP LOCKED`` so a second worker passes over them instead of
waiting. Every later change to a claimed row is fenced by ``claimed_by``, so a worker whose
lease ran out cannot overwrite what the worker that took over decided.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Row, Select, Table, and_, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reminder, ReminderState, User

PENDING = ReminderState.PENDING.value
SENDING = ReminderState.SENDING.value

_V = TypeVar("_V")

# What a claim returns of each row it takes.
CLAIMED = (
    Reminder.id,
    Reminder.user_id,
    Reminder.interview_id,
    Reminder.kind,
    Reminder.due_at,
    Reminder.attempts,
    Reminder.idempotency_key,
    Reminder.composed,
    Reminder.parts_sent,
    Reminder.retrying_since,
)

# The batch statements of a run, built once (see repositories.py): a batch's ids, the worker and
# the moment are bound, so each call skips building the statement and its cache key.
_COLUMNS = cast(Table, Reminder.__table__).c
_OWN_MANY = and_(
    Reminder.id.in_(bindparam("b_ids", expanding=True)),
    Reminder.state == SENDING,
    Reminder.claimed_by == bindparam("b_worker"),
)


def _update_own(**values: object) -> Any:
    return (
        update(Reminder)
        .where(_OWN_MANY)
        .values(**values)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )


_NOW = bindparam("b_now", type_=_COLUMNS.claimed_at.type)
_PARTS = bindparam("b_parts", type_=_COLUMNS.parts_sent.type)
_RENEW_MANY = _update_own(claimed_at=_NOW)
_PARTS_SENT_MANY = _update_own(parts_sent=_PARTS, claimed_at=_NOW)
_SENT = {
    "state": ReminderState.SENT.value,
    "sent_at": _NOW,
    "last_error": None,
    "composed": None,
    "retrying_since": None,
}
_MARK_SENT_MANY = _update_own(**_SENT)
_MARK_SENT_MANY_WITH_PARTS = _update_own(**_SENT, parts_sent=_PARTS)


class ReminderQueue:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _dialect(self) -> str:
        bind = self._session.bind
        return bind.dialect.name if bind is not None else ""

    @staticmethod
    def _claimable(channels: Collection[str], max_attempts: int) -> ColumnElement[bool]:
        """Select the rows a worker reaching these channels may take, whatever their due time."""
        # EXISTS, not user_id IN (SELECT ...): given the IN list, SQLite's planner reads
        # reminders through ix_reminders_user_id, i.e. every pending row of every user
        # (0.7 s at 1,000,000 rows); with EXISTS both planners walk ix_reminders_state_due_at
        # in due order and stop at the limit.
        return and_(
            Reminder.state == PENDING,
            Reminder.attempts < max_attempts,
            exists(
                select(User.id).where(User.id == Reminder.user_id, User.channel.in_(list(channels)))
            ),
        )

    async def release_stale(self, claimed_before: datetime) -> int:
        """Give back rows whose worker has held them too long (it crashed or hung)."""
        # The attempt counts, so a row that kills every worker that takes it ends as FAILED
        # instead of going round for ever.
        result = await self._session.execute(
            update(Reminder)
            .where(Reminder.state == SENDING, Reminder.claimed_at < claimed_before)
            .values(
                state=PENDING,
                claimed_by=None,
                claimed_at=None,
                attempts=Reminder.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def claim_due(
        self,
        now: datetime,
        worker_id: str,
        *,
        channels: Collection[str],
        max_attempts: int,
        limit: int,
    ) -> Sequence[Row[Any]]:
        """Mark up to ``limit`` due rows as this worker's and return them, oldest due first.

        Each row has the columns a claim needs (``CLAIMED``), by name; no ORM object is made.
        """
        if not channels:
            return []
        due = self.due_rows(self._dialect, now, channels, max_attempts, limit)
        if self._dialect == "postgresql":
            ids = list(
                await self._session.scalars(due.with_for_update(skip_locked=True, of=Reminder))
            )
            if not ids:
                return []
            chosen: ColumnElement[bool] = Reminder.id.in_(ids)
        else:
            # ``state || ''``: compared as is, SQLite's planner reads every pending row through
            # ix_reminders_state_due_at and tests each against the chosen ids (the whole queue,
            # per claim); so it looks up the chosen ids by primary key instead.
            chosen = and_(Reminder.id.in_(due), Reminder.state.concat("") == PENDING)
        result = await self._session.execute(
            update(Reminder)
            .where(chosen)
            .values(state=SENDING, claimed_by=worker_id, claimed_at=now)
            .returning(*CLAIMED)
            .execution_options(synchronize_session=False)
        )
        return sorted(result.all(), key=lambda r: (r.due_at, r.id))

    @classmethod
    def due_rows(
        cls,
        dialect: str,
        now: datetime,
        channels: Collection[str],
        max_attempts: int,
        limit: int,
    ) -> Select[int]:
        """The ids a claim takes, oldest due first (also what the storage benchmark explains)."""
        if dialect == "postgresql":
            # Walks ix_reminders_state_due_at and stops at the limit: ordered by due_at alone
            # (PostgreSQL's index does not end in the row id, as SQLite's does, so "due_at, id"
            # sorted every due row on every claim: 40 ms a claim at 30,000 due), and each
            # row's user is looked up by primary key (a scalar subquery is not turned into a
            # join: the EXISTS form, planned on a table not yet analysed, read every user of
            # the channel for every due row, 1.2 s a claim at 3,000 due). Rows due at the
            # same moment go in the index's order; the ones taken are sorted after the claim.
            channel = select(User.channel).where(User.id == Reminder.user_id).scalar_subquery()
            return (
                select(Reminder.id)
                .where(
                    Reminder.state == PENDING,
                    Reminder.attempts < max_attempts,
                    channel.in_(list(channels)),
                    Reminder.due_at <= now,
                )
                .order_by(Reminder.due_at)
                .limit(limit)
            )
        return (
            select(Reminder.id)
            .where(cls._claimable(channels, max_attempts), Reminder.due_at <= now)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
        )

    async def next_due(self, *, channels: Collection[str], max_attempts: int) -> datetime | None:
        """Return when the earliest row a worker for these channels could claim falls due."""
        if not channels:
            return None
        # ORDER BY ... LIMIT 1 rather than min(): the planners then walk the (state, due_at)
        # index in order and stop at the first claimable row, where min() over the IN
        # subquery read every pending row (SQLite by user_id, PostgreSQL a seq scan).
        return await self._session.scalar(
            select(Reminder.due_at)
            .where(self._claimable(channels, max_attempts))
            .order_by(Reminder.due_at)
            .limit(1)
        )

    async def due_channels(self, now: datetime) -> set[str]:
        """List the channels that have due pending rows, whether or not anyone can reach them."""
        result = await self._session.scalars(
            select(User.channel)
            .distinct()
            .join(Reminder, Reminder.user_id == User.id)
            .where(Reminder.state == PENDING, Reminder.due_at <= now)
        )
        return set(result.all())

    async def renew(self, reminder_id: int, worker_id: str, now: datetime) -> bool:
        """Restart this worker's lease on a row; False when the row is no longer its own."""
        return await self._fenced(reminder_id, worker_id, claimed_at=now)

    async def store_composed(
        self, reminder_id: int, worker_id: str, composed: list[Any], parts_sent: int
    ) -> bool:
        """Keep what this try composed, so a worker that takes over sends the same parts."""
        return await self._fenced(reminder_id, worker_id, composed=composed, parts_sent=parts_sent)

    async def part_sent(self, reminder_id: int, worker_id: str, parts: int, now: datetime) -> bool:
        """Record that the first ``parts`` parts are out; renews the lease as well."""
        return await self._fenced(reminder_id, worker_id, parts_sent=parts, claimed_at=now)

    async def mark_sent(self, reminder_id: int, worker_id: str, now: datetime) -> bool:
        # The composed text is a copy of the user's data that is only needed in flight.
        return await self._fenced(
            reminder_id,
            worker_id,
            state=ReminderState.SENT.value,
            sent_at=now,
            last_error=None,
            composed=None,
            retrying_since=None,
        )

    async def finish(
        self,
        reminder_id: int,
        worker_id: str,
        state: ReminderState,
        *,
        error: str | None = None,
        attempts: int | None = None,
    ) -> bool:
        """End a claim as CANCELLED, PAUSED or FAILED, keeping the error class if any."""
        values: dict[str, object] = {"state": state.value, "last_error": error}
        if state is not ReminderState.PAUSED:
            # A paused row resumes where it stopped; any other end needs its text no more.
            values["composed"] = None
        if attempts is not None:
            values["attempts"] = attempts
        return await self._fenced(reminder_id, worker_id, **values)

    async def reschedule(
        self,
        reminder_id: int,
        worker_id: str,
        due_at: datetime,
        *,
        attempts: int | None = None,
        error: str | None = None,
        retrying_since: datetime | None = None,
    ) -> bool:
        """Put a claimed row back in the queue for later, counting an attempt when given."""
        values: dict[str, object] = {
            "state": PENDING,
            "due_at": due_at,
            "claimed_by": None,
            "claimed_at": None,
        }
        if retrying_since is not None:
            values["retrying_since"] = retrying_since
        if attempts is not None:
            values["attempts"] = attempts
        if error is not None:
            values["last_error"] = error
        return await self._fenced(reminder_id, worker_id, **values)

    async def _fenced(self, reminder_id: int, worker_id: str, **values: object) -> bool:
        result = await self._session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.state == SENDING,
                Reminder.claimed_by == worker_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- a batch at a time ------------------------------------------------------------------
    #
    # The same fenced changes for many rows of this worker in one statement each, so that a
    # batch costs the database a few statements instead of a few per row.

    async def renew_many(
        self, reminder_ids: Collection[int], worker_id: str, now: datetime
    ) -> set[int]:
        """Restart this worker's lease on many rows; return the ids that are still its own."""
        if not reminder_ids:
            return set()
        return await self._own_many(_RENEW_MANY, reminder_ids, worker_id, b_now=now)

    async def store_composed_many(self, worker_id: str, composed: Mapping[int, list[Any]]) -> None:
        """Keep what a batch composed (nothing out yet), in one executemany.

        Meant for rows renewed (``renew_many``) in the same transaction: the renewal holds
        them (SQLite's write lock, PostgreSQL's row locks) until the commit, so every row
        still matches; the fence is kept all the same.
        """
        if not composed:
            return
        table = cast(Table, Reminder.__table__)
        await self._session.execute(
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.state == SENDING,
                table.c.claimed_by == bindparam("b_worker"),
            )
            .values(composed=bindparam("b_composed"), parts_sent=0),
            [
                {"b_id": rid, "b_worker": worker_id, "b_composed": replies}
                for rid, replies in composed.items()
            ],
        )

    async def parts_sent_many(
        self, worker_id: str, parts: Mapping[int, int], now: datetime
    ) -> set[int]:
        """Record how many parts of each row are out, renewing the lease; return the kept ids."""
        kept: set[int] = set()
        for count, ids in _by_value(parts).items():
            kept |= await self._own_many(_PARTS_SENT_MANY, ids, worker_id, b_now=now, b_parts=count)
        return kept

    async def mark_sent_many(
        self, worker_id: str, parts: Mapping[int, int | None], now: datetime
    ) -> set[int]:
        """Mark rows SENT (with how many parts went out, where given); return the kept ids."""
        kept: set[int] = set()
        for count, ids in _by_value(parts).items():
            if count is None:
                kept |= await self._own_many(_MARK_SENT_MANY, ids, worker_id, b_now=now)
            else:
                kept |= await self._own_many(
                    _MARK_SENT_MANY_WITH_PARTS, ids, worker_id, b_now=now, b_parts=count
                )
        return kept

    async def _own_many(
        self, statement: Any, reminder_ids: Collection[int], worker_id: str, **params: object
    ) -> set[int]:
        result = await self._session.scalars(
            statement, {"b_ids": list(reminder_ids), "b_worker": worker_id, **params}
        )
        return set(result.all())


def _by_value(items: Mapping[int, _V]) -> dict[_V, list[int]]:
    grouped: dict[_V, list[int]] = {}
    for key, value in items.items():
        grouped.setdefault(value, []).append(key)
    return grouped
