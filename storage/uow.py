"""The unit of work: one session, its repositories, and a transaction the caller commits.

It also notices when reminder rows were written, so the dispatcher can re-plan its next
wake-up without any handler having to remember to say so. Two session events see every
way a row can change: ``before_flush`` sees added, changed and deleted ORM objects, and
``do_orm_execute`` sees the bulk INSERT, UPDATE and DELETE statements the repositories issue. A
deleted user or interview counts too: the database cascades the delete to its reminders.
What was noticed counts only once it is committed; a rollback forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.chat_lock import ChatLock
from storage.models import Interview, Reminder, User
from storage.reminder_queue import ReminderQueue
from storage.repositories import (
    ApplicationRepository,
    DialogueRepository,
    DownloadRepository,
    EventRepository,
    HistoryRepository,
    InboxRepository,
    InterviewRepository,
    NoteRepository,
    ReminderRepository,
    UserRepository,
)

# Writing one of these writes reminder rows (deleting a user or an interview cascades).
_REMINDER_OWNERS = (Reminder, Interview, User)
_WRITTEN = "renraku.reminders_written"


def _writes_reminders(obj: object, session: Session, *, deleted: bool) -> bool:
    if isinstance(obj, Reminder):
        return deleted or obj in session.new or session.is_modified(obj)
    return deleted and isinstance(obj, _REMINDER_OWNERS)


def _notice_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    kept = chain(session.new, session.dirty)
    if any(_writes_reminders(o, session, deleted=False) for o in kept) or any(
        _writes_reminders(o, session, deleted=True) for o in session.deleted
    ):
        session.info[_WRITTEN] = True


def _notice_statement(state: ORMExecuteState) -> Result[Any] | None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, _REMINDER_OWNERS):
        return None
    if (state.is_update or state.is_insert) and mapper.class_ is not Reminder:
        return None
    result = state.invoke_statement()
    # A statement that matched nothing wrote nothing; with RETURNING the count is only
    # known once the caller reads the rows, so it counts as a write.
    if getattr(result, "returns_rows", True) or getattr(result, "rowcount", 1) != 0:
        state.session.info[_WRITTEN] = True
    return result


class _WatchedSession(Session):
    """The sync session of every unit of work: its listeners are registered once, here,
    rather than on each session."""


event.listen(_WatchedSession, "before_flush", _notice_flush)
event.listen(_WatchedSession, "do_orm_execute", _notice_statement)

_Repository = TypeVar("_Repository")


class UnitOfWork:
    """``async with uow: ...; await uow.commit()`` — leaving without commit rolls back.

    A repository is made on first use: a turn touches three or four of them.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._repositories: dict[type[object], object] = {}
        # True once a commit wrote reminder rows; read after the block by whoever wakes the
        # dispatcher.
        self.reminders_changed = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    def _repository(self, kind: Callable[[AsyncSession], _Repository]) -> _Repository:
        key = cast(type[object], kind)
        found = self._repositories.get(key)
        if found is None:
            found = self._repositories[key] = kind(self.session)
        return cast(_Repository, found)

    @property
    def users(self) -> UserRepository:
        return self._repository(UserRepository)

    @property
    def interviews(self) -> InterviewRepository:
        return self._repository(InterviewRepository)

    @property
    def applications(self) -> ApplicationRepository:
        return self._repository(ApplicationRepository)

    @property
    def dialogues(self) -> DialogueRepository:
        return self._repository(DialogueRepository)

    @property
    def reminders(self) -> ReminderRepository:
        return self._repository(ReminderRepository)

    @property
    def history(self) -> HistoryRepository:
        return self._repository(HistoryRepository)

    @property
    def events(self) -> EventRepository:
        return self._repository(EventRepository)

    @property
    def queue(self) -> ReminderQueue:
        return self._repository(ReminderQueue)

    @property
    def inbox(self) -> InboxRepository:
        return self._repository(InboxRepository)

    @property
    def chats(self) -> ChatLock:
        return self._repository(ChatLock)

    @property
    def downloads(self) -> DownloadRepository:
        return self._repository(DownloadRepository)

    @property
    def notes(self) -> NoteRepository:
        return self._repository(NoteRepository)

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._session_factory(sync_session_class=_WatchedSession)
        self._repositories = {}
        self.reminders_changed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() returns the connection, rolling back anything uncommitted; unlike
        # rollback() it leaves loaded objects readable for the caller.
        session = self.session
        self._session = None
        self._repositories = {}
        await session.close()

    async def commit(self) -> None:
        session = self.session
        await session.commit()
        if session.info.pop(_WRITTEN, False):
            self.reminders_changed = True

    async def rollback(self) -> None:
        session = self.session
        await session.rollback()
        session.info.pop(_WRITTEN, None)
