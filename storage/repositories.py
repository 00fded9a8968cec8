"""Repositories: named queries over one session. They never commit; the caller does."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chat_lock import chat_key
from storage.models import (
    OPEN_DIGEST,
    Application,
    DialogueState,
    Download,
    InboxEvent,
    Interview,
    InterviewNote,
    ProcessedEvent,
    Reminder,
    ReminderKind,
    ReminderState,
    StatusChange,
    User,
    new_idempotency_key,
    utcnow,
)

# A reminder still on its way: waiting, waiting for the user to come back, or being sent.
OPEN_STATES = (
    ReminderState.PENDING.value,
    ReminderState.PAUSED.value,
    ReminderState.SENDING.value,
)


# The per-turn statements are built once, here: a statement object used again skips its
# construction and its cache key, and SQLAlchemy's compiled cache does the rest. Those that
# need no ORM object (the event id, the dialogue) run as Core statements on the table.
_USER_WITH_DIALOGUE = (
    select(User, DialogueState.flow, DialogueState.step, DialogueState.data)
    .outerjoin(DialogueState, DialogueState.user_id == User.id)
    .where(User.channel == bindparam("channel"), User.external_id == bindparam("external_id"))
)
_DIALOGUES = DialogueState.metadata.tables[DialogueState.__tablename__]
_DIALOGUE = select(_DIALOGUES.c.flow, _DIALOGUES.c.step, _DIALOGUES.c.data).where(
    _DIALOGUES.c.user_id == bindparam("user_id")
)
_CLEAR_DIALOGUE = delete(_DIALOGUES).where(_DIALOGUES.c.user_id == bindparam("user_id"))
_APPLICATIONS = Application.metadata.tables[Application.__tablename__]
_COMPANIES = (
    select(_APPLICATIONS.c.id, _APPLICATIONS.c.company)
    .where(_APPLICATIONS.c.user_id == bindparam("user_id"))
    .order_by(_APPLICATIONS.c.id)
)

# A reminder waiting to go out for its interview: what ``pending_for_interview`` finds.
_WAITING = (ReminderState.PENDING.value, ReminderState.PAUSED.value)
# The batch forms, for the after-sent steps of many interviews at once. The state is compared
# as ``state || ''`` so that no planner can use ix_reminders_state_due_at for it: given a list
# of interviews, SQLite's planner otherwise reads every pending row by state (the whole queue,
# 100,000 rows in the benchmark) instead of each interview's few through its own index.
_STATE_UNINDEXED = Reminder.state.concat("")
_INTERVIEWS_WAITING = (
    select(Reminder.interview_id)
    .where(
        Reminder.interview_id.in_(bindparam("interview_ids", expanding=True)),
        _STATE_UNINDEXED.in_(_WAITING),
    )
    .distinct()
)
_CANCEL_WAITING = (
    update(Reminder)
    .where(
        Reminder.interview_id.in_(bindparam("interview_ids", expanding=True)),
        _STATE_UNINDEXED.in_(_WAITING),
    )
    .values(state=ReminderState.CANCELLED.value)
    .execution_options(synchronize_session=False)
)


def _per_dialect(build: Callable[[Callable[..., Any]], Any]) -> dict[str, Any]:
    return {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}


def _save_dialogue(insert: Callable[..., Any]) -> Any:
    stmt = insert(_DIALOGUES)
    return stmt.on_conflict_do_update(
        index_elements=[_DIALOGUES.c.user_id],
        set_={
            "flow": stmt.excluded.flow,
            "step": stmt.excluded.step,
            "data": stmt.excluded.data,
            "updated_at": stmt.excluded.updated_at,
        },
    )


# No RETURNING: the row count tells a first delivery (1) from a redelivery (0), and a
# statement without rows to fetch costs one driver round trip less.
_RECORD_EVENT = _per_dialect(
    lambda insert: insert(
        ProcessedEvent.metadata.tables[ProcessedEvent.__tablename__]
    ).on_conflict_do_nothing(index_elements=["channel", "event_id"])
)
_SAVE_DIALOGUE = _per_dialect(_save_dialogue)
_EVENTS = ProcessedEvent.metadata.tables[ProcessedEvent.__tablename__]
# PostgreSQL: the chat's lock (storage/chat_lock.py) taken by the same statement that
# records the event, one round trip instead of two. The row to insert comes out of the
# locking subquery, so the lock is held before the primary key is looked at.
_LOCK_CHAT_AND_RECORD_EVENT = (
    postgresql.insert(_EVENTS)
    .from_select(
        ["channel", "event_id", "processed_at"],
        select(
            bindparam("channel", type_=_EVENTS.c.channel.type),
            bindparam("event_id", type_=_EVENTS.c.event_id.type),
            bindparam("processed_at", type_=_EVENTS.c.processed_at.type),
        ).select_from(
            select(func.pg_advisory_xact_lock(bindparam("chat_key", type_=BigInteger))).subquery()
        ),
    )
    .on_conflict_do_nothing(index_elements=["channel", "event_id"])
)


def _dialect(session: AsyncSession) -> str:
    name = session.get_bind().dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no upsert for the {name} dialect")
    return name


@dataclass(frozen=True, slots=True)
class Dialogue:
    """Where a user is in a conversation, as stored: a value, not a tracked ORM row, so
    reading and saving it costs one plain statement."""

    flow: str
    step: str
    data: dict[str, Any]


# Dialogues of this session's users as the user query read them (an outer join), None for
# none, so the engine's next question for the dialogue needs no SELECT of its own. Only that
# read puts a user here and any write of their dialogue takes them out, so a rollback cannot
# leave a stale answer. It lives as long as the session, one unit of work.
_READ_WITH_USER = "renraku.dialogue_read_with_user"
_ABSENT_USERS = "renraku.absent_users"


def _upsert(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT: one statement instead of SELECT + INSERT
    (and a savepoint), with the same once-only guarantee from the unique key."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def _absent_users(session: AsyncSession) -> set[tuple[str, str]]:
    """Users this session looked for and did not find; the insert that follows needs no
    second look, and should it lose a race it looks again."""
    absent: set[tuple[str, str]] = session.info.setdefault(_ABSENT_USERS, set())
    return absent


def _read_with_user(session: AsyncSession) -> dict[int, Dialogue | None]:
    known: dict[int, Dialogue | None] = session.info.setdefault(_READ_WITH_USER, {})
    return known


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, channel: str, external_id: str) -> User | None:
        """The user, with their dialogue read in the same query (see ``_READ_WITH_USER``)."""
        row = (
            await self._session.execute(
                _USER_WITH_DIALOGUE, {"channel": channel, "external_id": external_id}
            )
        ).first()
        if row is None:
            # get_or_create, next in a first turn, then inserts without asking again.
            _absent_users(self._session).add((channel, external_id))
            return None
        user: User = row[0]
        flow, step, data = row[1:]
        # flow is NOT NULL in the table: None means the outer join found no dialogue.
        _read_with_user(self._session)[user.id] = (
            None if flow is None else Dialogue(flow, step, data)
        )
        return user

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def get_or_create(
        self, channel: str, external_id: str, *, locale: str, timezone: str
    ) -> User:
        absent = _absent_users(self._session)
        if (channel, external_id) not in absent:
            user = await self.find(channel, external_id)
            if user is not None:
                return user
        absent.discard((channel, external_id))
        # ON CONFLICT DO NOTHING: losing a race with another replica creating the same user
        # inserts nothing and fails nothing, so the rest of the transaction stands.
        created: User | None = await self._session.scalar(
            _upsert(self._session)(User)
            .values(
                channel=channel,
                external_id=external_id,
                locale=locale,
                timezone=timezone,
                reminder_hour=10,
                quiet_start=22,
                quiet_end=8,
                halfway_nudge=True,
                active=True,
                onboarded=False,
                recent_tips={},
            )
            .on_conflict_do_nothing(index_elements=[User.channel, User.external_id])
            .returning(User)
        )
        if created is not None:
            # A user created just now has no dialogue yet.
            _read_with_user(self._session)[created.id] = None
            return created
        existing = await self.find(channel, external_id)
        if existing is None:
            raise RuntimeError("user neither created nor found")
        return existing

    async def delete(self, user: User) -> None:
        """Delete the user; the database cascades to everything they own."""
        await self._session.delete(user)
        await self._session.flush()

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(User)) or 0)

    async def wanting_digest_without_one(self, limit: int, after_id: int = 0) -> Sequence[User]:
        """Users still here who want the weekly digest but have none on its way."""
        open_digest = select(Reminder.id).where(
            Reminder.user_id == User.id,
            Reminder.kind == ReminderKind.DIGEST.value,
            Reminder.state.in_(OPEN_STATES),
        )
        result = await self._session.scalars(
            select(User)
            .where(
                User.id > after_id,
                User.weekly_digest.is_(True),
                User.active.is_(True),
                ~open_digest.exists(),
            )
            .order_by(User.id)
            .limit(limit)
        )
        return result.all()

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, User]:
        """The users with these ids, by id, read in one query; an id not found is left out."""
        if not user_ids:
            return {}
        result = await self._session.scalars(select(User).where(User.id.in_(list(user_ids))))
        return {user.id: user for user in result.all()}


class InterviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, interview: Interview) -> None:
        self._session.add(interview)

    async def flush(self) -> None:
        await self._session.flush()

    async def owned(self, user_id: int, interview_id: int) -> Interview | None:
        """The interview only when it belongs to this user; anyone else's id finds nothing."""
        return await self._session.scalar(
            select(Interview).where(Interview.id == interview_id, Interview.user_id == user_id)
        )

    async def for_user(self, user_id: int) -> Sequence[Interview]:
        result = await self._session.scalars(
            select(Interview)
            .where(Interview.user_id == user_id)
            .order_by(Interview.interview_date.desc(), Interview.id.desc())
        )
        return result.all()

    async def delete(self, interview: Interview) -> None:
        await self._session.delete(interview)
        await self._session.flush()

    async def owned_many(self, pairs: Sequence[tuple[int, int]]) -> dict[int, Interview]:
        """The interviews of (user id, interview id) pairs, by id, read in one query.

        As ``owned``: an interview is found only for the user it belongs to.
        """
        wanted = {interview_id: user_id for user_id, interview_id in pairs}
        if not wanted:
            return {}
        result = await self._session.scalars(
            select(Interview).where(Interview.id.in_(list(wanted)))
        )
        return {i.id: i for i in result.all() if wanted.get(i.id) == i.user_id}


class ApplicationRepository:
    """A user's applications (a company each) and the interviews that are their rounds."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, user_id: int, company: str) -> Application:
        application = Application(user_id=user_id, company=company)
        self._session.add(application)
        await self._session.flush()
        return application

    async def owned(self, user_id: int, application_id: int) -> Application | None:
        """The application only when it belongs to this user."""
        return await self._session.scalar(
            select(Application).where(
                Application.id == application_id, Application.user_id == user_id
            )
        )

    async def companies(self, user_id: int) -> list[tuple[int, str]]:
        """The user's applications as (id, company), oldest first: no ORM objects to load."""
        rows = await self._session.execute(_COMPANIES, {"user_id": user_id})
        return [(row.id, row.company) for row in rows]

    async def rounds(self, user_id: int, application_id: int) -> Sequence[Interview]:
        """The application's interviews, first round first; only the user's own."""
        result = await self._session.scalars(
            select(Interview)
            .where(Interview.application_id == application_id, Interview.user_id == user_id)
            .order_by(Interview.interview_date, Interview.id)
        )
        return result.all()

    async def delete_if_empty(self, user_id: int, application_id: int) -> None:
        """Drop an application whose last round was deleted."""
        left = await self._session.scalar(
            select(func.count())
            .select_from(Interview)
            .where(Interview.application_id == application_id, Interview.user_id == user_id)
        )
        if not left:
            await self._session.execute(
                delete(Application).where(
                    Application.id == application_id, Application.user_id == user_id
                )
            )


class DialogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> Dialogue | None:
        known = _read_with_user(self._session)
        if user_id in known:
            return known[user_id]
        row = (await self._session.execute(_DIALOGUE, {"user_id": user_id})).first()
        return None if row is None else Dialogue(row.flow, row.step, row.data)

    async def save(
        self,
        user_id: int,
        flow: str,
        step: str,
        data: dict[str, object],
        current: Dialogue | None = None,
    ) -> Dialogue:
        """Store the user's place in a flow in one statement; return it as now stored.

        ``current`` is the dialogue as read in this unit of work: when nothing changed, no
        statement is sent at all.
        """
        # As the JSON column hands it back (tuples become lists, keys strings), and a copy.
        stored = Dialogue(flow, step, json.loads(json.dumps(data)))
        if stored == current:
            return stored
        _read_with_user(self._session).pop(user_id, None)
        await self._session.execute(
            _SAVE_DIALOGUE[_dialect(self._session)],
            {
                "user_id": user_id,
                "flow": flow,
                "step": step,
                "data": stored.data,
                "updated_at": utcnow(),
            },
        )
        return stored

    async def clear(self, user_id: int) -> None:
        _read_with_user(self._session).pop(user_id, None)
        await self._session.execute(_CLEAR_DIALOGUE, {"user_id": user_id})


def _pending_row(
    interview_id: int | None, user_id: int, kind: str, due: datetime, now: datetime
) -> dict[str, Any]:
    """A new pending reminder as the columns of a multi-row INSERT (no ORM object)."""
    return {
        "interview_id": interview_id,
        "user_id": user_id,
        "kind": kind,
        "due_at": due,
        "state": ReminderState.PENDING.value,
        "attempts": 0,
        "idempotency_key": new_idempotency_key(),
        "created_at": now,
        "parts_sent": 0,
    }


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, reminder: Reminder) -> None:
        self._session.add(reminder)

    async def pending_for_interview(self, interview_id: int) -> Sequence[Reminder]:
        result = await self._session.scalars(
            select(Reminder)
            .where(
                Reminder.interview_id == interview_id,
                Reminder.state.in_([ReminderState.PENDING.value, ReminderState.PAUSED.value]),
            )
            .order_by(Reminder.due_at)
        )
        return result.all()

    async def add_many(
        self, planned: Sequence[tuple[int | None, int, ReminderKind, datetime]]
    ) -> None:
        """Plan a pending reminder for each (interview id, user id, kind, due), in one INSERT.

        What ``add`` of a new ``Reminder`` does for each, without an ORM object per row.
        """
        if not planned:
            return
        now = utcnow()
        await self._session.execute(
            insert(Reminder),
            [
                _pending_row(interview_id, user_id, kind.value, due, now)
                for interview_id, user_id, kind, due in planned
            ],
        )

    async def interviews_with_pending(self, interview_ids: Collection[int]) -> set[int]:
        """Which of these interviews ``pending_for_interview`` would find anything for."""
        if not interview_ids:
            return set()
        result = await self._session.scalars(
            _INTERVIEWS_WAITING, {"interview_ids": list(interview_ids)}
        )
        return {i for i in result.all() if i is not None}

    async def cancel_for_interviews(self, interview_ids: Collection[int]) -> int:
        """``cancel_for_interview`` (every kind) for many interviews, in one statement."""
        if not interview_ids:
            return 0
        result = await self._session.execute(
            _CANCEL_WAITING, {"interview_ids": list(interview_ids)}
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def next_for_interview(self, interview_id: int, now: datetime) -> Reminder | None:
        """The next pending reminder from now on; else an overdue one about to go out."""
        pending = (
            await self._session.scalars(
                select(Reminder)
                .where(
                    Reminder.interview_id == interview_id,
                    Reminder.state == ReminderState.PENDING.value,
                )
                .order_by(Reminder.due_at)
            )
        ).all()
        upcoming = [r for r in pending if r.due_at >= now]
        return upcoming[0] if upcoming else (pending[-1] if pending else None)

    async def for_user(self, user_id: int) -> Sequence[Reminder]:
        result = await self._session.scalars(
            select(Reminder).where(Reminder.user_id == user_id).order_by(Reminder.due_at)
        )
        return result.all()

    async def cancel_for_interview(
        self, interview_id: int, kinds: Sequence[ReminderKind] | None = None
    ) -> int:
        stmt = update(Reminder).where(
            Reminder.interview_id == interview_id,
            Reminder.state.in_([ReminderState.PENDING.value, ReminderState.PAUSED.value]),
        )
        if kinds is not None:
            stmt = stmt.where(Reminder.kind.in_([k.value for k in kinds]))
        result = await self._session.execute(
            stmt.values(state=ReminderState.CANCELLED.value).execution_options(
                synchronize_session=False
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def open_for_user(self, user_id: int, kind: ReminderKind) -> Reminder | None:
        """The user's reminder of ``kind`` still on its way, if any (for user-level kinds)."""
        return await self._session.scalar(
            select(Reminder)
            .where(
                Reminder.user_id == user_id,
                Reminder.kind == kind.value,
                Reminder.state.in_(OPEN_STATES),
            )
            .order_by(Reminder.due_at)
            .limit(1)
        )

    async def add_digests(self, planned: Sequence[tuple[int, datetime]]) -> int:
        """Plan a digest for each (user id, due) in one statement; how many were planned.

        A user who already has one on its way is passed over by the unique index
        (``uq_reminders_open_digest``), as ``add_once`` would, without a savepoint per row.
        """
        if not planned:
            return 0
        now = utcnow()
        rows = [
            _pending_row(None, user_id, ReminderKind.DIGEST.value, due, now)
            for user_id, due in planned
        ]
        result = await self._session.execute(
            _upsert(self._session)(Reminder)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[Reminder.user_id], index_where=OPEN_DIGEST)
            .returning(Reminder.user_id)
        )
        return len(result.all())

    async def add_once(self, reminder: Reminder) -> bool:
        """Add a row a unique index allows only once; False when another is already there."""
        try:
            # A savepoint: losing to a concurrent planner keeps the rest of the transaction.
            async with self._session.begin_nested():
                self._session.add(reminder)
        except IntegrityError:
            return False
        return True

    async def cancel_for_user(self, user_id: int, kind: ReminderKind) -> int:
        """Cancel the user's waiting reminders of ``kind`` (one being sent finishes)."""
        result = await self._session.execute(
            update(Reminder)
            .where(
                Reminder.user_id == user_id,
                Reminder.kind == kind.value,
                Reminder.state.in_([ReminderState.PENDING.value, ReminderState.PAUSED.value]),
            )
            .values(state=ReminderState.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_paused_for_user(self, user_id: int, paused: bool) -> int:
        source, target = (
            (ReminderState.PENDING, ReminderState.PAUSED)
            if paused
            else (ReminderState.PAUSED, ReminderState.PENDING)
        )
        result = await self._session.execute(
            update(Reminder)
            .where(Reminder.user_id == user_id, Reminder.state == source.value)
            .values(state=target.value)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class HistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def record(self, interview_id: int, from_status: str | None, to_status: str) -> None:
        self._session.add(
            StatusChange(interview_id=interview_id, from_status=from_status, to_status=to_status)
        )

    async def for_interview(self, interview_id: int) -> Sequence[StatusChange]:
        result = await self._session.scalars(
            select(StatusChange)
            .where(StatusChange.interview_id == interview_id)
            .order_by(StatusChange.changed_at, StatusChange.id)
        )
        return result.all()


class NoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, interview: Interview, text: str, created_at: datetime) -> InterviewNote:
        note = InterviewNote(
            interview_id=interview.id, user_id=interview.user_id, text=text, created_at=created_at
        )
        self._session.add(note)
        return note

    async def notes_for(
        self, interview_id: int, limit: int | None = None
    ) -> Sequence[InterviewNote]:
        """The interview's notes, newest first (all of them, or the latest ``limit``)."""
        stmt = (
            select(InterviewNote)
            .where(InterviewNote.interview_id == interview_id)
            .order_by(InterviewNote.created_at.desc(), InterviewNote.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self._session.scalars(stmt)).all()

    async def count_for(self, interview_id: int) -> int:
        return int(
            await self._session.scalar(
                select(func.count())
                .select_from(InterviewNote)
                .where(InterviewNote.interview_id == interview_id)
            )
            or 0
        )


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def first_time(
        self, channel: str, event_id: str, now: datetime, *, lock_chat: str | None = None
    ) -> bool:
        """Remember the event; False when it was handled before (a redelivery).

        With ``lock_chat`` (the chat's external id) the same statement also takes the lock
        ``ChatLock.lock`` would, first.
        """
        # One statement: the primary key keeps each id once, and a redelivery inserts
        # nothing (on PostgreSQL it waits for a concurrent first delivery to end first).
        params: dict[str, object] = {"channel": channel, "event_id": event_id, "processed_at": now}
        dialect = _dialect(self._session)
        if lock_chat is not None and dialect == "postgresql":
            params["chat_key"] = chat_key(channel, lock_chat)
            statement = _LOCK_CHAT_AND_RECORD_EVENT
        else:
            # SQLite: BEGIN IMMEDIATE took the file's one write lock, which covers the chat.
            statement = _RECORD_EVENT[dialect]
        result = await self._session.execute(statement, params)
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def forget_before(self, moment: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.processed_at < moment)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        channel: str,
        event_id: str,
        payload: dict[str, object],
        reply_to: str | None,
        now: datetime,
    ) -> int | None:
        """Keep the event; None when the same event is already waiting (a redelivery)."""
        # ON CONFLICT DO NOTHING on (channel, event_id) instead of a savepoint per event.
        inbox_id: int | None = await self._session.scalar(
            _upsert(self._session)(InboxEvent)
            .values(
                channel=channel,
                event_id=event_id,
                payload=payload,
                reply_to=reply_to,
                received_at=now,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[InboxEvent.channel, InboxEvent.event_id])
            .returning(InboxEvent.id)
        )
        return inbox_id

    async def add_many(
        self,
        channel: str,
        events: Sequence[tuple[str, dict[str, object], str | None]],
        now: datetime,
    ) -> dict[str, int]:
        """Keep a batch of (event id, payload, reply_to) in one statement; the ids kept, by
        event id. An event already waiting (a redelivery) is left out of the answer."""
        if not events:
            return {}
        rows = [
            {
                "channel": channel,
                "event_id": event_id,
                "payload": payload,
                "reply_to": reply_to,
                "received_at": now,
                "attempts": 0,
            }
            for event_id, payload, reply_to in events
        ]
        # One multi-row INSERT: a getUpdates batch costs one round trip, not one per update.
        result = await self._session.execute(
            _upsert(self._session)(InboxEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[InboxEvent.channel, InboxEvent.event_id])
            .returning(InboxEvent.id, InboxEvent.event_id)
        )
        return {event_id: inbox_id for inbox_id, event_id in result.all()}

    async def remove(self, inbox_id: int) -> None:
        await self._session.execute(delete(InboxEvent).where(InboxEvent.id == inbox_id))

    async def remove_many(self, inbox_ids: Sequence[int]) -> None:
        if inbox_ids:
            await self._session.execute(delete(InboxEvent).where(InboxEvent.id.in_(inbox_ids)))

    def _of_chat(self, channel: str, external_id: str) -> ColumnElement[bool]:
        # The stored event names its chat inside the payload (it is the Incoming itself).
        return and_(
            InboxEvent.channel == channel,
            InboxEvent.payload["external_id"].as_string() == external_id,
        )

    async def for_chat(self, channel: str, external_id: str) -> list[InboxEvent]:
        """The chat's events still held (waiting, or set aside): they carry what was typed."""
        rows = await self._session.scalars(
            select(InboxEvent)
            .where(self._of_chat(channel, external_id))
            .order_by(InboxEvent.received_at, InboxEvent.id)
        )
        return list(rows.all())

    async def remove_for_chat(self, channel: str, external_id: str) -> None:
        await self._session.execute(delete(InboxEvent).where(self._of_chat(channel, external_id)))

    async def take_overdue(
        self, channel: str, received_before: datetime, now: datetime, limit: int
    ) -> Sequence[InboxEvent]:
        """Events left unhandled since before a moment; taking one renews its lease."""
        waiting = (
            select(InboxEvent.id)
            .where(
                InboxEvent.channel == channel,
                InboxEvent.received_at < received_before,
                InboxEvent.set_aside_at.is_(None),
            )
            .order_by(InboxEvent.received_at, InboxEvent.id)
            .limit(limit)
        )
        result = await self._session.scalars(
            update(InboxEvent)
            .where(InboxEvent.id.in_(waiting), InboxEvent.received_at < received_before)
            .values(received_at=now, attempts=InboxEvent.attempts + 1)
            .returning(InboxEvent)
            .execution_options(synchronize_session=False)
        )
        return result.all()

    async def set_aside(self, inbox_id: int, now: datetime) -> None:
        """Never take this event again; the row stays for an operator to look at."""
        await self._session.execute(
            update(InboxEvent).where(InboxEvent.id == inbox_id).values(set_aside_at=now)
        )


class DownloadRepository:
    """Files waiting to be fetched, found only by the hash of their token."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, download: Download) -> None:
        self._session.add(download)

    async def flush(self) -> None:
        await self._session.flush()

    async def by_token_hash(self, token_hash: str) -> Download | None:
        return await self._session.scalar(select(Download).where(Download.token_hash == token_hash))

    async def owned(self, user_id: int, download_id: int) -> Download | None:
        return await self._session.scalar(
            select(Download).where(Download.id == download_id, Download.user_id == user_id)
        )

    async def use(self, download_id: int, now: datetime) -> bool:
        """Mark a single-use download taken; False when it was taken or ran out already.

        One conditional UPDATE, so two replicas serving the same link at once cannot both win.
        """
        result = await self._session.execute(
            update(Download)
            .where(
                Download.id == download_id,
                Download.used_at.is_(None),
                Download.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def forget_expired_before(self, moment: datetime) -> int:
        result = await self._session.execute(delete(Download).where(Download.expires_at < moment))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
