"""One chat's work in order, different chats side by side.

Each chat gets an ``asyncio.Lock`` while it has work waiting or running. The locks sit in a
weak dictionary: the work that waits for a lock holds it alive, so a chat with nothing to do
costs no memory, however many chats the process has seen.

Hand-written rather than taken from a library: asyncio's lock already does the ordering (its
waiters are woken first come, first served); what is added is only the keyed, weakly held map.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
T = TypeVar("T")


class ChatOrder(Generic[Key]):
    """Work for one key runs one at a time, in the order it asked for its turn."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Key, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def turn(self, key: Key) -> AsyncIterator[None]:
        """Wait until this key's earlier work is done, and hold the key while inside."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield

    async def run(self, key: Key, work: Awaitable[T]) -> T:
        """Await ``work`` in its key's turn."""
        async with self.turn(key):
            return await work

    def __len__(self) -> int:
        """How many keys have work waiting or running."""
        return len(self._locks)
