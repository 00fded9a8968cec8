"""Alembic environment: async engine from the URL the app hands over, never from an ini."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import create_engine
from storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# pg_advisory_lock's two-int key space, apart from the single-bigint one the chat locks use:
# "renr" and 1 for "the schema".
MIGRATION_LOCK = (int.from_bytes(b"renr", "big"), 1)


@asynccontextmanager
async def _one_migrator_at_a_time(connection: AsyncConnection) -> AsyncIterator[None]:
    """Replicas starting together all upgrade: the others wait, then find nothing to do.

    Session-level, not transaction-level, so it holds however Alembic splits the work
    into transactions; the version table is read only after it is taken.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    keys = {"a": MIGRATION_LOCK[0], "b": MIGRATION_LOCK[1]}
    await connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), keys)
    # End the transaction the statement began, so Alembic opens and commits its own.
    await connection.commit()
    try:
        yield
    finally:
        await connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
        await connection.commit()


async def _run_online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection, _one_migrator_at_a_time(connection):
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
