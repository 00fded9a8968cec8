"""The unit of work: one session, its repositories, and a transaction the caller commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.chat_lock import ChatLock
from storage.reminder_queue import ReminderQueue
from storage.repositories import (
    DialogueRepository,
    EventRepository,
    HistoryRepository,
    InboxRepository,
    InterviewRepository,
    ReminderRepository,
    UserRepository,
)


class UnitOfWork:
    """``async with uow: ...; await uow.commit()`` — leaving without commit rolls back."""

    users: UserRepository
    interviews: InterviewRepository
    dialogues: DialogueRepository
    reminders: ReminderRepository
    history: HistoryRepository
    events: EventRepository
    queue: ReminderQueue
    inbox: InboxRepository
    chats: ChatLock

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        self.users = UserRepository(self._session)
        self.interviews = InterviewRepository(self._session)
        self.dialogues = DialogueRepository(self._session)
        self.reminders = ReminderRepository(self._session)
        self.history = HistoryRepository(self._session)
        self.events = EventRepository(self._session)
        self.queue = ReminderQueue(self._session)
        self.inbox = InboxRepository(self._session)
        self.chats = ChatLock(self._session)
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
        await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
