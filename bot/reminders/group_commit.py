"""The dispatcher's transactions: one at a time, and concurrent records in one commit.

``Turns`` lets the dispatcher's transactions run one after another. On SQLite there is one
writer; two of the dispatcher's own transactions at once would only make the second wait in
SQLite's busy loop (sleeps of milliseconds) instead of in order, and on PostgreSQL a worker's
batch gains nothing from racing itself.

``GroupCommit`` is a group commit: each caller hands over one item and waits until it is
committed, but the items that come in while a transaction is under way all go together in the
next one. A caller's wait ends only once its own record is durable, so "each part is recorded
before the next is pushed" holds as before; a hundred pushes that end together cost one
transaction, not a hundred.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar

from storage.uow import UnitOfWork

T = TypeVar("T")
R = TypeVar("R")

# Opens a unit of work: a plain factory (``UnitOfWork`` is its own context manager), or
# ``Turns``.
OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class Turns:
    """Opens the dispatcher's units of work one at a time (``async with turns() as uow``)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow_factory = uow_factory
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        async with self._lock, self._uow_factory() as uow:
            yield uow


class GroupCommit(Generic[T, R]):
    """Applies the items that arrive together in one call of ``apply``; each caller gets its own.

    ``apply`` takes a group of items and returns one result per item, in order; it owns the
    transaction. If it raises, every caller in the group gets the exception.
    """

    def __init__(self, apply: Callable[[list[T]], Awaitable[Sequence[R]]]) -> None:
        self._apply = apply
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            # Started as a task, it runs after every caller that is ready now has added its
            # item: a whole wave of pushes that ended together is one group.
            self._drainer = asyncio.create_task(self._drain(), name="reminder-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            # One turn of the event loop first: pushes set going a moment apart (as slots
            # free up) end a moment apart too, and join the same group.
            await asyncio.sleep(0)
            group, self._pending = self._pending, []
            try:
                results = list(await self._apply([item for item, _ in group]))
                if len(results) != len(group):
                    raise RuntimeError(f"{len(results)} results for {len(group)} items")
            except asyncio.CancelledError:
                for _, future in group:
                    future.cancel()
                raise
            except Exception as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
