"""Build the async engine and session factory for a database URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix) :].split("?", 1)[0]
    return None if rest in ("", ":memory:") else Path(rest)


def _tune_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # The sqlite3 driver's legacy transaction control (Python < 3.16) never emits BEGIN
    # before SELECT or SAVEPOINT, so a savepoint opened first ran as its own transaction
    # and its RELEASE committed it, whatever the unit of work did next. None hands BEGIN
    # to SQLAlchemy (_begin_sqlite): SQLAlchemy's documented fix for pysqlite/aiosqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout waits instead of failing
    # when a second process (another replica, a migration) holds the write lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    # IMMEDIATE, not DEFERRED: a unit of work reads before it writes, and under WAL a
    # deferred transaction whose snapshot went stale cannot take the write lock; SQLite
    # then fails at once with "database is locked" instead of waiting busy_timeout.
    # Taking the lock at BEGIN makes a second writer (another process) wait its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_HOLDS_WRITE_TURN = "renraku.holds_write_turn"
# As long as SQLite's own busy_timeout: a turn never waits longer than it did before.
WRITE_TURN_TIMEOUT = 10.0


class _WriteTurns:
    """This process's transactions on one SQLite file, one at a time, in arrival order.

    Every transaction takes the file's write lock at BEGIN IMMEDIATE, so only one runs at a
    time anyway. Left to SQLite, the others retry in its busy handler, which sleeps 1, 2, 5,
    ... up to 100 ms between tries: a waiter wakes long after the lock is free, and under a
    crowd the tail grows to seconds. Waiting on an asyncio lock instead hands the file over
    the moment the holder's connection goes back to the pool. busy_timeout stays for other
    processes (a migration, a test's second engine). An asyncio lock, not a pool of one
    connection: an autocommit probe (/healthz) takes no turn and need not queue.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def begin(self, connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        info = connection.connection.record_info
        # None only for a connection detached from the pool, which never comes back to
        # release a turn: SQLite's busy_timeout alone orders it.
        if info is not None and not info.get(_HOLDS_WRITE_TURN):
            try:
                await_(asyncio.wait_for(self._lock.acquire(), WRITE_TURN_TIMEOUT))
            except TimeoutError as exc:
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            self._loop = asyncio.get_running_loop()
            info[_HOLDS_WRITE_TURN] = True
        _begin_immediate(connection)

    def checkin(
        self, _dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry
    ) -> None:
        # The pool has rolled back whatever the holder left open: the file is free. Held
        # through a commit until here, so a connection that commits and carries on keeps
        # its turn rather than taking it twice.
        info = record.record_info
        if info is None or not info.pop(_HOLDS_WRITE_TURN, False):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # A connection given up by the garbage collector, outside the event loop.
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._lock.release)
            return
        self._lock.release()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine for the URL; a SQLite file's folder is created when missing."""
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        if path is None:
            # In memory: one connection shared by everyone (SQLAlchemy's StaticPool).
            engine = create_async_engine(url, echo=echo)
            event.listen(engine.sync_engine, "connect", _tune_sqlite)
            event.listen(engine.sync_engine, "begin", _begin_immediate)
            return engine
        # A connection for every transaction waiting its turn: waiting for the pool instead
        # is not first come, first served (a task handing a connection back takes it again
        # before the woken waiter runs), which left a crowd's slowest turns seconds behind.
        # Connections are made only as a crowd needs them; above 64 they are closed again.
        engine = create_async_engine(url, echo=echo, pool_size=64, max_overflow=-1)
        turns = _WriteTurns()
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", turns.begin)
        event.listen(engine.sync_engine.pool, "checkin", turns.checkin)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
