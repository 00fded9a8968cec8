"""Build the async engine and session factory for a database URL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
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


_T = TypeVar("_T")


class _OneTripCursor:
    """A cursor that runs a statement and fetches all its rows in one trip to the
    connection's thread.

    SQLAlchemy's aiosqlite adapter makes four trips per statement (open a cursor, execute,
    fetch, close), and each trip is a hand-off to aiosqlite's thread and a wake-up of the
    event loop: most of a short statement's cost. SQLAlchemy reads every row right after
    executing anyway (it buffers them), so nothing is lost by reading them in the same trip.
    Hand-written because neither library offers it; it uses aiosqlite's own queue
    (``Connection._execute``), so the tests of every query cover it on an aiosqlite upgrade.
    """

    def __init__(self, connection: _OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> _OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, operation: str, parameters: Any = None) -> _OneTripCursor:
        connection = self._connection
        begin = connection.take_begin()

        def run() -> tuple[Any, int, int | None, list[Any]]:
            cursor = connection._conn.cursor()
            try:
                if begin is not None:
                    cursor.execute(begin)
                if parameters is None:
                    cursor.execute(operation)
                else:
                    cursor.execute(operation, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        found = await connection.in_thread(run)
        self.description, self.rowcount, self.lastrowid, self._rows = found
        return self

    async def executemany(self, operation: str, seq_of_parameters: Any) -> _OneTripCursor:
        connection = self._connection
        begin = connection.take_begin()

        def run() -> tuple[int, int | None]:
            cursor = connection._conn.cursor()
            try:
                if begin is not None:
                    cursor.execute(begin)
                cursor.executemany(operation, seq_of_parameters)
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self.description, self._rows = None, []
        self.rowcount, self.lastrowid = await connection.in_thread(run)
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class _OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection with one-trip cursors, and a BEGIN that rides the next trip.

    A transaction's BEGIN IMMEDIATE was a trip of its own through SQLAlchemy and the thread,
    right before the transaction's first statement. ``begin_with_next`` holds it back and
    the next statement runs it first, in the same trip (SQLite still runs both, in order,
    on the connection's thread); a transaction that ends before any statement ran had
    nothing to commit or roll back, so it never opens one.
    """

    _begin: str | None = None

    def cursor(self) -> _OneTripCursor:  # type: ignore[override]
        return _OneTripCursor(self)

    def begin_with_next(self, statement: str) -> None:
        self._begin = statement

    def take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    async def commit(self) -> None:
        if self.take_begin() is None:
            await super().commit()

    async def rollback(self) -> None:
        if self.take_begin() is None:
            await super().rollback()

    async def in_thread(self, function: Callable[[], _T]) -> _T:
        """Run function on the connection's thread, after whatever was queued before it."""
        queue: Callable[[Callable[[], _T]], Awaitable[_T]] = self._execute
        return await queue(function)


def _one_trip_connect(path: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    def connect() -> Awaitable[aiosqlite.Connection]:
        # What SQLAlchemy's aiosqlite dialect passes to sqlite3 for a file URL; like it, a
        # daemon thread, so an engine never disposed does not keep the process alive.
        connection = _OneTripConnection(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
        )
        connection._thread.daemon = True
        return connection

    return connect


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


_BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


def _begin_immediate(connection: Connection) -> None:
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    # IMMEDIATE, not DEFERRED: a unit of work reads before it writes, and under WAL a
    # deferred transaction whose snapshot went stale cannot take the write lock; SQLite
    # then fails at once with "database is locked" instead of waiting busy_timeout.
    # Taking the lock at BEGIN makes a second writer (another process) wait its turn.
    connection.exec_driver_sql(_BEGIN_IMMEDIATE)


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
        driver = connection.connection.driver_connection
        if isinstance(driver, _OneTripConnection):
            # BEGIN IMMEDIATE runs with the transaction's first statement, in its trip: this
            # process's turn is already held, so nothing of ours can come in between.
            driver.begin_with_next(_BEGIN_IMMEDIATE)
            return
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
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=64,
            max_overflow=-1,
            async_creator=_one_trip_connect(str(path)),
        )
        turns = _WriteTurns()
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", turns.begin)
        event.listen(engine.sync_engine.pool, "checkin", turns.checkin)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
