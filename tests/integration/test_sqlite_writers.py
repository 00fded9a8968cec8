"""One SQLite file, many writers in one process: each waits its turn, none is left waiting."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot.bootstrap import Renraku, bootstrap
from domain.protocol import Address, Incoming
from storage.db import create_engine
from storage.models import User
from tests.support import ManualClock, sqlite_settings, wait_until


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Renraku]:
    app = await bootstrap(sqlite_settings(tmp_path), clock=clock, with_channels=False)
    try:
        yield app
    finally:
        await app.stop()


def _checked_out(app: Renraku) -> int:
    pool = app.db.sync_engine.pool
    return int(pool.checkedout())  # type: ignore[attr-defined]


async def test_writers_waiting_for_the_file_go_in_the_order_they_came(app: Renraku) -> None:
    order: list[int] = []

    async def write(n: int) -> None:
        async with app.uow() as uow:
            await uow.users.get_or_create("line", f"U-{n}", locale="ja", timezone="Asia/Tokyo")
            order.append(n)
            await uow.commit()

    async with app.uow() as holder:
        await holder.users.get_or_create("line", "U-first", locale="ja", timezone="Asia/Tokyo")
        waiting = []
        for n in range(6):
            waiting.append(asyncio.create_task(write(n)))

            async def arrived(count: int = n + 2) -> bool:
                return _checked_out(app) == count

            await wait_until(arrived, f"writer {n} waiting at BEGIN")
        await holder.commit()
        await asyncio.wait_for(asyncio.gather(*waiting), 30)
    # SQLite's busy handler wakes its waiters after growing sleeps, in no particular order.
    assert order == list(range(6))


async def test_a_crowd_of_first_turns_all_answer_and_an_abandoned_one_blocks_nobody(
    app: Renraku,
) -> None:
    unexpected = app.catalog.text("ja", "errors.unexpected")
    async with app.uow() as uow:
        await uow.users.get_or_create("line", "U-crash", locale="ja", timezone="Asia/Tokyo")
        # Left without commit, as when a handler raises: the file goes to the next writer.

    async def first_turn(n: int) -> list[str]:
        incoming = Incoming.text_message(Address("line", f"U-{n}"), "/start", event_id=f"e-{n}")
        return [reply.text for reply in await app.engine.handle(incoming)]

    answers = await asyncio.wait_for(asyncio.gather(*(first_turn(n) for n in range(40))), 60)
    assert all(texts and unexpected not in texts for texts in answers)
    async with app.uow() as uow:
        users = await uow.session.scalar(select(func.count()).select_from(User))
    assert users == 40
    assert _checked_out(app) == 0


async def test_every_way_of_reading_and_writing_rows_sees_what_was_written(
    tmp_path: Path,
) -> None:
    # The file engine's cursor executes and fetches in one trip; streamed reads, many-row
    # writes and row counts must come out as with any other driver.
    url = f"sqlite+aiosqlite:///{tmp_path / 'rows.db'}"
    db = create_engine(url)
    table = sa.table("t", sa.column("n", sa.Integer))
    try:
        async with db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(table.insert(), [{"n": n} for n in range(150)])
            changed = await conn.execute(table.update().where(table.c.n < 10).values(n=-1))
            assert changed.rowcount == 10
            single = await conn.execute(table.insert().values(n=1000))
            assert single.lastrowid == 151
        async with db.connect() as conn:
            streamed = [row.n async for row in await conn.stream(sa.select(table.c.n))]
            total = await conn.scalar(sa.select(sa.func.sum(table.c.n)))
        assert len(streamed) == 151
        assert total == sum(range(10, 150)) - 10 + 1000
    finally:
        await db.dispose()


async def test_a_transaction_holds_the_write_lock_from_its_first_statement_a_read_too(
    app: Renraku, tmp_path: Path
) -> None:
    # Another process, as sqlite3 sees it: one that does not wait for the lock.
    other = sqlite3.connect(tmp_path / "renraku.db", timeout=0, isolation_level=None)
    try:
        async with app.uow() as uow:
            assert await uow.users.find("line", "U-nobody") is None
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await uow.users.get_or_create("line", "U-1", locale="ja", timezone="Asia/Tokyo")
            await uow.commit()
        other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM users").fetchone() == (1,)
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_transaction_that_ran_nothing_leaves_no_transaction_open(
    app: Renraku, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "renraku.db", timeout=0, isolation_level=None)
    try:
        for end in ("commit", "rollback"):
            async with app.db.connect() as conn:
                await conn.begin()
                await getattr(conn, end)()  # no statement ran
                # The same connection, still checked out, reads outside any transaction.
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(sa.text("SELECT 1"))
                other.execute("BEGIN IMMEDIATE")  # so nobody holds the file
                other.execute("ROLLBACK")
        async with app.uow() as uow:
            await uow.users.get_or_create("line", "U-2", locale="ja", timezone="Asia/Tokyo")
            await uow.commit()
        assert other.execute("SELECT count(*) FROM users").fetchone() == (1,)
    finally:
        other.close()
